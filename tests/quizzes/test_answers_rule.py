"""Who sees a quiz's answers, and when (docs/quizzes.md, "Who takes a quiz and who sees its answers").

The console's pages under the same rule: tests/console/test_quiz_answers.py.

No one who may take a quiz sees its answers or explanations before its results are final — on any endpoint or
console page; whoever manages it (and so may see them) is not in its audience: not scored, counted or reminded.
Nothing is revealed until no attempt can still change: the close plus the grace, and every attempt graded.
"""
from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.extensions import db
from notifications import jobs
from quizzes.models import Attempt, QuizResult
from tests import factories
from tests.notifications.helpers import rows
from tests.quizzes.helpers import answers_for, assert_no_answers, make_bank, secrets_of

WEEK = "2026-W48"
API = "/api/v1"


def _quiz(client, headers, path, bank, **extra):
    response = client.post(path, headers=headers, json={"week_key": WEEK, "question_ids": [q.id for q in bank],
                                                        **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _take(client, headers, quiz_id, bank, submit=True):
    started = client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=headers)
    assert started.status_code == 201, started.get_json()
    attempt = started.get_json()
    saved = client.put(f"{API}/attempts/{attempt['id']}/answers", headers=headers,
                       json={"answers": answers_for(bank)})
    assert saved.status_code == 200, saved.get_json()
    if submit:
        assert client.post(f"{API}/attempts/{attempt['id']}/submit", headers=headers, json={}).status_code == 200
    return attempt["id"]


def _shows_answers(payload, bank):
    text = str(payload)
    return all(secret in text for secret in secrets_of(bank))


def test_a_secretary_who_takes_the_committee_quiz_sees_none_of_its_answers_anywhere(client, login, org, frozen,
                                                                                     fake_wechat):
    frozen("2026-11-22 20:00")
    bank = make_bank(org.committee_a)
    quiz = _quiz(client, login(org.admin_a), f"{API}/committees/{org.committee_a.id}/quizzes", bank)
    secretary = login(org.secretary_a)  # branch A1 has no quiz of its own: the secretary takes the committee's

    for moment in ("2026-11-22 21:00", "2026-11-23 08:00"):  # before it opens, and while it is open
        frozen(moment)
        detail = client.get(f"{API}/quizzes/{quiz['id']}", headers=secretary)
        assert detail.status_code == 200
        assert not _shows_answers(detail.get_json(), bank)
        assert all(item["question"]["answers_withheld"] for item in detail.get_json()["items"])
        listed = client.get(f"{API}/questions", headers=secretary, query_string={"per_page": 100})
        assert listed.status_code == 200 and len(listed.get_json()["items"]) == len(bank)
        assert not _shows_answers(listed.get_json(), bank)
        for question in bank:
            one = client.get(f"{API}/questions/{question.id}", headers=secretary)
            assert one.status_code == 200
            assert_no_answers({k: v for k, v in one.get_json().items() if v is not None}, [question])

    # The quiz's manager sees them all along; the secretary takes the quiz blind and is scored.
    assert _shows_answers(client.get(f"{API}/quizzes/{quiz['id']}", headers=login(org.admin_a)).get_json(), bank)
    _take(client, secretary, quiz["id"], bank)
    assert db.session.scalar(select(QuizResult.score).where(QuizResult.member_id == org.secretary_a.id)) == 40

    # Once the results are final (close plus grace, nothing left open) the secretary may read them.
    frozen("2026-11-30 00:02")
    secretary = factories.login_headers(client, fake_wechat, org.secretary_a)  # a week on: a new session
    assert _shows_answers(client.get(f"{API}/quizzes/{quiz['id']}", headers=secretary).get_json(), bank)


def test_a_quizs_managers_are_not_in_its_audience(client, login, org, frozen):
    frozen("2026-11-22 20:00")
    bank = make_bank(org.committee_a)
    sitting_admin = factories.member(org.branch_a2, "admin", name="冯管理")  # an admin who sits in branch A2
    own = _quiz(client, login(org.secretary_a), f"{API}/branches/{org.branch_a.id}/quizzes", bank)
    shared = _quiz(client, login(org.admin_a), f"{API}/committees/{org.committee_a.id}/quizzes", bank)
    frozen("2026-11-23 08:00")

    # The secretary manages A1's quiz, the sitting admin the committee's (A2 takes it): neither may take it.
    for who, quiz in ((org.secretary_a, own), (sitting_admin, shared)):
        refused = client.post(f"{API}/quizzes/{quiz['id']}/attempts", headers=login(who))
        assert refused.status_code == 403 and refused.get_json()["code"] == "not_in_audience"
        assert "管理" in refused.get_json()["message"]
    assert db.session.scalar(select(Attempt.id)) is None
    assert client.get(f"{API}/quizzes/current", headers=login(org.secretary_a)).get_json()["state"] == "none"
    assert client.get(f"{API}/quizzes/current", headers=login(org.member_a)).get_json()["state"] == "not_started"

    # Not counted: A1's audience is its two members, A2's its member and its secretary.
    stats = client.get(f"{API}/quizzes/{own['id']}/stats", headers=login(org.secretary_a)).get_json()
    assert stats["overall"]["audience"] == 2
    pending = client.get(f"{API}/quizzes/{own['id']}/pending", headers=login(org.secretary_a)).get_json()
    assert sorted(m["id"] for m in pending["items"]) == sorted([org.member_a.id, org.member_a2.id])
    stats = client.get(f"{API}/quizzes/{shared['id']}/stats", headers=login(org.admin_a)).get_json()
    assert stats["overall"]["audience"] == 2
    export = client.get(f"{API}/quizzes/{shared['id']}/export", headers=login(org.admin_a))
    assert export.status_code == 200 and "冯管理".encode() not in _xlsx_text(export.data)

    # Not announced or reminded.
    assert jobs.run_quiz_open(clock.now()) == 4
    frozen("2026-11-26 20:00")
    jobs.run_quiz_reminder(clock.now())
    told = {r.member_id for r in rows(kind="quiz_open")} | {r.member_id for r in rows(kind="quiz_reminder")}
    assert told == {org.member_a.id, org.member_a2.id, org.member_a2_branch.id, org.secretary_a2.id}
    reminded = client.post(f"{API}/branches/{org.branch_a.id}/reminders", headers=login(org.secretary_a),
                           json={"kind": "quiz"}).get_json()
    assert reminded["behind"] == 2
    assert org.secretary_a.id not in {r.member_id for r in rows(kind="reminder_quiz")}


def _xlsx_text(body):
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(body)) as book:
        return b"".join(book.read(name) for name in book.namelist() if name.endswith(".xml"))


def test_nothing_is_revealed_until_the_close_plus_grace_and_every_attempt_is_graded(app, client, login, org, frozen):
    frozen("2026-11-22 20:00")
    bank = make_bank(org.committee_a)
    quiz = _quiz(client, login(org.admin_a), f"{API}/committees/{org.committee_a.id}/quizzes", bank)
    close = factories.local_time("2026-11-30 00:00")
    frozen("2026-11-27 10:00")
    finished = login(org.member_a)
    attempt = _take(client, finished, quiz["id"], bank)
    frozen("2026-11-29 23:55")
    late = client.post(f"{API}/quizzes/{quiz['id']}/attempts", headers=login(org.member_a2)).get_json()

    def revealed():
        shown = client.get(f"{API}/attempts/{attempt}", headers=finished).get_json()
        mine = client.get(f"{API}/me/quizzes", headers=finished).get_json()["items"][0]
        assert shown["answers_revealed"] == mine["answers_revealed"]
        if not shown["answers_revealed"]:
            assert_no_answers(shown, bank)
        items = client.get(f"{API}/quizzes/{quiz['id']}/items", headers=login(org.secretary_a))
        assert (items.status_code == 200) == shown["answers_revealed"]
        return shown["answers_revealed"]

    clock.freeze(close + timedelta(seconds=2))  # closed, but a late save is still accepted for the grace
    assert not revealed()
    clock.freeze(close + timedelta(seconds=7))
    saved = client.put(f"{API}/attempts/{late['id']}/answers", headers=login(org.member_a2),
                       json={"answers": answers_for(bank)})
    assert saved.status_code == 200
    grace = app.config["QUIZ_GRACE_SECONDS"]
    clock.freeze(close + timedelta(seconds=grace + 1))  # nothing can change now, but one attempt is not graded yet
    assert not revealed()
    closed = client.get(f"{API}/attempts/{late['id']}", headers=login(org.member_a2)).get_json()  # grades it
    assert closed["status"] == "submitted"
    assert revealed()


def test_a_revealed_review_withholds_a_question_the_member_still_has_to_answer(client, login, org, frozen):
    # Last week's quiz is final and revealed; this week's branch quiz asks one of its questions again.
    frozen("2026-11-15 20:00")
    bank = make_bank(org.committee_a)
    last = client.post(f"{API}/committees/{org.committee_a.id}/quizzes", headers=login(org.admin_a),
                       json={"week_key": "2026-W47", "question_ids": [q.id for q in bank]}).get_json()
    frozen("2026-11-17 10:00")
    attempt = _take(client, login(org.member_a), last["id"], bank)
    frozen("2026-11-22 20:00")
    _quiz(client, login(org.secretary_a), f"{API}/branches/{org.branch_a.id}/quizzes", bank[:1])
    frozen("2026-11-23 08:00")
    review = client.get(f"{API}/attempts/{attempt}", headers=login(org.member_a)).get_json()
    assert review["answers_revealed"] is True
    shown = {q["id"]: q for q in review["questions"]}
    assert shown[bank[0].id]["explanation"] is None and shown[bank[0].id]["answer"] is None
    assert shown[bank[1].id]["explanation"] == bank[1].explanation
