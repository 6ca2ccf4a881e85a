"""`python -m fakewechat --consent`: `make run` starts the fake knowing the demo member, as the demo seed does."""
import pytest

from fakewechat.__main__ import build

DATA = {"thing1": {"value": "第48周学习测验"}, "time2": {"value": "2026年11月29日 20:00"},
        "thing3": {"value": "请在截止前完成"}}


def send(client, openid):
    token = client.post("/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": "wx-demo-appid",
                                                       "secret": "demo-app-secret"}).get_json()["access_token"]
    return client.post(f"/cgi-bin/message/subscribe/send?access_token={token}",
                       json={"touser": openid, "template_id": "tmpl-quiz-open", "data": DATA}).get_json()["errcode"]


def test_a_consent_given_on_the_command_line_lets_that_many_messages_through():
    _, app = build(["--consent", "demo-member:tmpl-quiz-open:2"])
    client = app.test_client()
    assert [send(client, "demo-member") for _ in range(3)] == [0, 0, 43101]  # the third: no consent left
    assert send(client, "someone-else") == 40003                            # never used the mini-program


@pytest.mark.parametrize("bad", ["demo-member", "demo-member:tmpl-quiz-open", "demo-member:tmpl:two", ":tmpl:1"])
def test_a_malformed_consent_is_refused_at_start(bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        build(["--consent", bad])
    assert exit_.value.code == 2 and "OPENID:TEMPLATE_ID:COUNT" in capsys.readouterr().err
