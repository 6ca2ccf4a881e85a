"""Which quiz a branch takes: its own, else its nearest committee's — the same from the cached week map and the
query."""
from sqlalchemy import func, select

from core.cache import get_redis
from core.extensions import db
from members.models import Branch
from quizzes import audience, definitions
from tests import factories
from tests.quizzes.helpers import make_bank

WEEK = "2026-W48"


def test_each_branch_takes_its_own_quiz_else_its_nearest_committees(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    child = factories.committee("甲党委下属党委", parent=org.committee_a)
    grandchild = factories.committee("甲党委下属二级党委", parent=child)
    child_branch, grandchild_branch = factories.branch(child, "子支部"), factories.branch(grandchild, "孙支部")
    people = {"a1": org.member_a, "a2": org.member_a2_branch, "b": org.member_b,
              "child": factories.member(child_branch), "grandchild": factories.member(grandchild_branch)}
    bank = [q.id for q in make_bank(org.committee_a)]

    def create(path, who):
        response = client.post(path, headers=login(who), json={"week_key": WEEK, "question_ids": bank})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    committee_quiz = create(f"/api/v1/committees/{org.committee_a.id}/quizzes", org.admin_a)
    child_quiz = create(f"/api/v1/committees/{child.id}/quizzes", org.admin_a)
    own_quiz = create(f"/api/v1/branches/{org.branch_a.id}/quizzes", org.secretary_a)
    expected = {"a1": own_quiz, "a2": committee_quiz, "b": None, "child": child_quiz, "grandchild": child_quiz}

    for _ in range(2):  # the first round fills the week map on a miss, the second reads it
        seen = {}
        for name, member in people.items():
            body = client.get("/api/v1/quizzes/current", headers=login(member)).get_json()
            seen[name] = body["quiz"]["id"] if body["quiz"] else None
        assert seen == expected
        # Every branch was filled at once, on the first miss.
        assert get_redis().hlen(definitions.branch_map_key(WEEK)) == db.session.scalar(
            select(func.count()).select_from(Branch)) == 5

    # The one-branch query agrees with the whole-company map for every branch.
    week_map = audience.week_map(WEEK)
    assert week_map and all(audience.quiz_id_for_branch(b, WEEK) == q for b, q in week_map.items())


def test_a_new_quiz_of_the_week_is_seen_at_once(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    bank = [q.id for q in make_bank(org.committee_a)]
    assert client.get("/api/v1/quizzes/current", headers=login(org.member_a)).get_json()["quiz"] is None
    created = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a),
                          json={"week_key": WEEK, "question_ids": bank})
    assert created.status_code == 201
    body = client.get("/api/v1/quizzes/current", headers=login(org.member_a)).get_json()
    assert body["quiz"]["id"] == created.get_json()["id"]


def test_a_member_reads_one_quiz_of_theirs_by_id_and_is_refused_the_others(client, login, org, frozen):
    """GET /me/quizzes/<id> (a push's ?id=): the member's state in that quiz as /quizzes/current shows the week's;
    404 for a quiz not theirs to see, 403 for its managers."""
    frozen("2026-11-23 08:00")
    bank = [q.id for q in make_bank(org.committee_a)]
    created = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a),
                          json={"week_key": WEEK, "question_ids": bank})
    assert created.status_code == 201, created.get_json()
    quiz_id = created.get_json()["id"]

    mine = client.get(f"/api/v1/me/quizzes/{quiz_id}", headers=login(org.member_a))
    assert mine.status_code == 200
    assert mine.get_json() == client.get("/api/v1/quizzes/current", headers=login(org.member_a)).get_json()
    assert mine.get_json()["quiz"]["id"] == quiz_id

    other = client.get(f"/api/v1/me/quizzes/{quiz_id}", headers=login(org.member_b))
    assert other.status_code == 404 and other.get_json()["message"] == "测验不存在"
    assert client.get("/api/v1/me/quizzes/999999", headers=login(org.member_a)).status_code == 404
    managed = client.get(f"/api/v1/me/quizzes/{quiz_id}", headers=login(org.secretary_a))
    assert managed.status_code == 403 and managed.get_json()["code"] == "not_in_audience"
