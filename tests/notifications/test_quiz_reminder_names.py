"""The quiz 一键提醒 names the quiz each member takes: their branch's own, else their committee's — never another's."""
from tests.notifications.helpers import rows
from tests.quizzes.helpers import make_bank

API = "/api/v1"


def _quiz(client, headers, path, bank, title, closes_at):
    response = client.post(path, headers=headers, json={"week_key": "2026-W48", "title": title,
                                                        "question_ids": [q.id for q in bank],
                                                        "closes_at": closes_at})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_quiz_reminder_names_the_quiz_the_branch_takes(client, org, login, frozen):
    frozen("2026-11-22 20:00")
    bank_a, bank_b = make_bank(org.committee_a), make_bank(org.committee_b)
    # Every other quiz open this week closes before committee B's, so "the first to close" is never B1's.
    _quiz(client, login(org.admin_a), f"{API}/committees/{org.committee_a.id}/quizzes", bank_a, "甲党委测验",
          "2026-11-27T20:00:00+08:00")
    own = _quiz(client, login(org.secretary_a), f"{API}/branches/{org.branch_a.id}/quizzes", bank_a, "甲一支部测验",
                "2026-11-28T20:00:00+08:00")
    theirs = _quiz(client, login(org.admin_b), f"{API}/committees/{org.committee_b.id}/quizzes", bank_b,
                   "乙党委测验", "2026-11-29T20:00:00+08:00")
    frozen("2026-11-26 10:00")

    for who, branch, quiz, title, members in (
            (org.admin_b, org.branch_b, theirs, "乙党委测验", {org.member_b.id, org.secretary_b.id}),
            (org.secretary_a, org.branch_a, own, "甲一支部测验", {org.member_a.id, org.member_a2.id})):
        response = client.post(f"{API}/branches/{branch.id}/reminders", headers=login(who), json={"kind": "quiz"})
        assert response.status_code == 200, response.get_json()
        sent = {r.member_id: r for r in rows(kind="reminder_quiz") if r.member_id in members}
        assert set(sent) == members
        for reminder in sent.values():
            assert reminder.payload["data"]["thing1"] == title and title in reminder.body
            assert reminder.payload["page"] == f"pages/quiz/index?id={quiz}"
