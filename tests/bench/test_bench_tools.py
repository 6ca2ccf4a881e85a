"""The benchmark's own pieces: the fake's bulk controls, the run's write checks and target verdicts."""
import pytest

from bench import report, run
from fakewechat.app import create_app


@pytest.fixture()
def fake():
    return create_app(appid="wx-bench", secret="s").test_client()


def test_bulk_consents_let_each_openid_receive_one_message(fake):
    granted = fake.post("/_fake/consents/bulk", json={"openids": ["o1", "o2"], "template_id": "tmpl-study-material",
                                                       "count": 1})
    assert granted.status_code == 200 and granted.get_json()["openids"] == 2
    consents = {(c["openid"], c["remaining"]) for c in fake.get("/_fake/consents").get_json()["consents"]}
    assert consents == {("o1", 1), ("o2", 1)}


@pytest.mark.parametrize("body", [{"openids": "o1", "template_id": "tmpl-study-material"},
                                  {"openids": ["o1", ""], "template_id": "tmpl-study-material"},
                                  {"openids": ["o1"], "template_id": "tmpl-study-material", "count": -1},
                                  {"openids": ["o1"], "template_id": "tmpl-unknown"}])
def test_bulk_consents_refuse_bad_input(fake, body):
    assert fake.post("/_fake/consents/bulk", json=body).status_code == 400


def test_message_summary_counts_messages_and_distinct_recipients(fake):
    summary = fake.get("/_fake/messages/summary").get_json()
    assert summary == {"total": 0, "distinct": 0, "first_at": None, "last_at": None}
    for template_id, openids in (("tmpl-study-material", ["o1", "o2"]), ("tmpl-quiz-open", ["o1"])):
        assert fake.post("/_fake/consents/bulk", json={"openids": openids, "template_id": template_id,
                                                       "count": 2}).status_code == 200
    token = fake.post("/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": "wx-bench",
                                                      "secret": "s"}).get_json()["access_token"]
    data = {"study": {"thing1": {"value": "今日学习"}, "date2": {"value": "2026年11月30日"},
                      "thing3": {"value": "请按时学习"}},
            "quiz": {"thing1": {"value": "第49周测验"}, "time2": {"value": "2026年12月6日 20:00"},
                     "thing3": {"value": "请在截止前完成"}}}
    sent = [("o1", "tmpl-study-material"), ("o1", "tmpl-study-material"), ("o2", "tmpl-study-material"),
            ("o1", "tmpl-quiz-open")]
    for openid, template_id in sent:
        assert fake.post("/_fake/clock", json={"advance": 5}).status_code == 200  # each message at its own moment
        response = fake.post(f"/cgi-bin/message/subscribe/send?access_token={token}", json={
            "touser": openid, "template_id": template_id,
            "data": data["study" if template_id == "tmpl-study-material" else "quiz"]}).get_json()
        assert response["errcode"] == 0, response
    messages = fake.get("/_fake/messages").get_json()["messages"]
    assert len(messages) == 4
    study = fake.get("/_fake/messages/summary", query_string={"template_id": "tmpl-study-material"}).get_json()
    assert (study["total"], study["distinct"]) == (3, 2)
    assert study["first_at"] == messages[0]["at"] < study["last_at"] == messages[2]["at"]
    everything = fake.get("/_fake/messages/summary").get_json()
    assert (everything["total"], everything["distinct"], everything["last_at"]) == (4, 3, messages[3]["at"])
    assert fake.get("/_fake/messages/summary", query_string={"template_id": "tmpl-none"}).get_json()["total"] == 0
    fake.post("/_fake/reset")
    assert fake.get("/_fake/messages/summary").get_json()["total"] == 0


@pytest.mark.parametrize("stored, ok, sent, expected", [
    (10, 10, 10, True),     # every write acknowledged
    (12, 10, 12, True),     # two were in flight when wrk stopped: stored, never acknowledged
    (9, 10, 12, False),     # an acknowledged write is missing
    (13, 10, 12, False),    # more rows than requests: something was stored twice
])
def test_a_write_scenario_stores_between_acknowledged_and_sent(stored, ok, sent, expected):
    assert run.within(stored, {"ok": ok, "sent": sent}) is expected


def test_targets_are_judged_against_the_issue_thresholds():
    scenarios = {"quiz_current": {"rps_ratio": 0.41, "p99_ms": 80.0, "p99_ratio": 3.9},
                 "reading_today": {"rps_ratio": 0.2, "p99_ms": 120.0, "p99_ratio": 4.1},
                 "quiz_submit": {"rps_ratio": 0.10, "p99_ms": 99.9, "p99_ratio": 4.0},
                 "quiz_start": {"rps_ratio": 0.19, "p99_ms": 20.0, "p99_ratio": 2.0},
                 "dash_company": {"p95_ms": 301.0}}
    push = {"total_seconds": 170.0, "delivered": 100000, "expected": 100000}
    verdicts = {t["target"]: t["met"] for t in report.evaluate({"scenarios": scenarios, "push": push})}
    assert verdicts["quiz_current throughput ≥ 0.40 × baseline"] is True
    assert verdicts["reading_today throughput ≥ 0.40 × baseline"] is False
    assert verdicts["quiz_submit throughput ≥ 0.10 × baseline"] is True
    assert verdicts["quiz_start throughput ≥ 0.20 × baseline"] is False
    assert verdicts["quiz_current p99 ≤ 4 × baseline p99"] is True
    assert verdicts["quiz_submit p99 ≤ 4 × baseline p99"] is True
    assert verdicts["reading_today p99 ≤ 4 × baseline p99"] is False
    assert verdicts["reading_today p99 < 100 ms"] is False
    assert verdicts["company dashboard (100,000 members) p95 < 300 ms"] is False
    assert verdicts["100,000-member push within 180 s"] is True


def test_an_unfinished_push_misses_its_target():
    push = {"total_seconds": None, "measured_seconds": 300.0, "delivered": 40000, "expected": 100000}
    assert [t["met"] for t in report.evaluate({"push": push})] == [False]


def test_the_push_rate_is_judged_beside_the_baseline_and_only_when_complete():
    complete = {"total_seconds": 400.0, "delivered": 100000, "expected": 100000, "ratio_to_baseline": 0.26}
    cut = dict(complete, total_seconds=None, measured_seconds=300.0, delivered=80000)
    slow = dict(complete, ratio_to_baseline=0.19)
    target = "100,000-member push messages/s ≥ 0.25 × baseline req/s"
    assert {t["target"]: t["met"] for t in report.evaluate({"push": complete})}[target] is True
    assert {t["target"]: t["met"] for t in report.evaluate({"push": cut})}[target] is False
    assert {t["target"]: t["met"] for t in report.evaluate({"push": slow})}[target] is False


def test_profile_summary_credits_our_frames_and_library_totals(tmp_path):
    raw = tmp_path / "p.raw"
    raw.write_text("main (wsgi.py:1);current_state (quizzes/services.py:252);execute (sqlalchemy/orm/session.py:9) 3\n"
                   "main (wsgi.py:1);authenticate (members/auth.py:47) 1\n")
    text = report.summarize_profile(str(raw))
    assert text.splitlines()[0] == "4 samples"
    assert " 75.0%  current_state (quizzes/services.py)" in text
    assert " 75.0%    [SQLAlchemy + psycopg, all]" in text
    assert " 25.0%  authenticate (members/auth.py)" in text


def test_the_workers_memory_is_judged_by_the_largest_worker():
    def met(sizes):
        return [t["met"] for t in report.evaluate({"workers_rss_mb": sizes})]

    assert met([98, 119, 130]) == [True] and met([98, 119, 131]) == [False]
