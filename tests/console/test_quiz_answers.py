"""The console's question and quiz pages follow the quiz room's answer rule (docs/quizzes.md, "Who takes a quiz and
who sees its answers"): a secretary whose branch takes the committee's quiz reads none of its answers before its
results are final; the quiz page marks no key until then."""
from datetime import timedelta

from tests import factories
from tests.quizzes.helpers import answers_for, make_bank

API = "/api/v1"


def _committee_quiz(client, login, org, frozen):
    frozen("2026-11-22 20:00")
    bank = make_bank(org.committee_a)
    response = client.post(f"{API}/committees/{org.committee_a.id}/quizzes", headers=login(org.admin_a),
                           json={"week_key": "2026-W48", "question_ids": [q.id for q in bank]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"], bank


def test_the_question_page_shows_a_taker_no_answer(client, login, org, frozen, desk):
    quiz_id, bank = _committee_quiz(client, login, org, frozen)
    frozen("2026-11-23 08:00")
    secretary = desk(org.secretary_a)  # branch A1 takes the committee's quiz
    for question in bank:
        page = secretary.get(f"/console/questions/{question.id}").get_data(as_text=True)
        assert question.explanation not in page and "测验结束前不显示答案与解析" in page
    # Its manager reads the answer on the same page.
    assert bank[0].explanation in desk(org.admin_a).get(f"/console/questions/{bank[0].id}").get_data(as_text=True)


def test_the_quiz_page_marks_no_key_until_the_results_are_final(app, client, login, org, frozen, desk):
    quiz_id, bank = _committee_quiz(client, login, org, frozen)
    frozen("2026-11-29 23:55")
    member = login(org.member_a)
    attempt = client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=member).get_json()
    client.put(f"{API}/attempts/{attempt['id']}/answers", headers=member, json={"answers": answers_for(bank)})
    close = factories.local_time("2026-11-30 00:00")

    # Closed but inside the grace; then past it with one attempt not yet graded.
    for moment in (close + timedelta(seconds=2), close + timedelta(seconds=app.config["QUIZ_GRACE_SECONDS"] + 1)):
        frozen(moment)
        page = desk(org.secretary_a).get(f"/console/quizzes/{quiz_id}").get_data(as_text=True)
        assert 'class="opt key"' not in page and "逐题分析" in page
    client.get(f"{API}/attempts/{attempt['id']}", headers=member)  # the member's look grades the attempt left open
    page = desk(org.secretary_a).get(f"/console/quizzes/{quiz_id}").get_data(as_text=True)
    assert 'class="opt key"' in page
