"""The hot writes take their member as the session resolved them (members.auth.requester): a start, an autosave, a
submit, an open and a finish build no Member object, and each answers as before."""
from members import auth
from tests.learning.helpers import publish
from tests.quizzes.helpers import answers_for
from tests.quizzes.test_attempts import quiz  # noqa: F401  (the fixture)
from tests.sql import as_a_request_starts


def test_the_hot_writes_build_no_member_object(client, login, org, quiz, monkeypatch):  # noqa: F811
    item = publish(client, login(org.secretary_a), minutes=1)  # the quiz fixture's day, 2026-11-23
    headers, member_id = login(org.member_a), org.member_a.id
    answers = answers_for(quiz["bank"])
    assert client.get("/api/v1/materials/today", headers=headers).status_code == 200
    built = []
    real = auth._member_object
    monkeypatch.setattr(auth, "_member_object", lambda data: built.append(data["id"]) or real(data))

    as_a_request_starts()
    started = client.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=headers)
    assert started.status_code == 201, started.get_json()
    attempt_id = started.get_json()["id"]
    saved = client.put(f"/api/v1/attempts/{attempt_id}/answers", headers=headers,
                       json={"answers": dict(list(answers.items())[:2])})
    assert saved.status_code == 200 and saved.get_json()["answered"] == 2, saved.get_json()
    submitted = client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers, json={"answers": answers})
    body = submitted.get_json()
    assert submitted.status_code == 200 and body["status"] == "submitted" and body["result"]["score"] == 40, body
    opened = client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers)
    assert opened.status_code == 200 and opened.get_json()["completed"] is False
    finished = client.post(f"/api/v1/materials/{item['id']}/reads/finish", headers=headers, json={})
    assert finished.status_code == 200 and finished.get_json()["seconds"] == 0
    assert built == []

    me = client.get("/api/v1/me", headers=headers)  # a view that needs more of the member still builds it
    assert me.status_code == 200 and me.get_json()["id"] == member_id and built == [member_id]
