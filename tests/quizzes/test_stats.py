"""Secretaries and admins: participation and scores, who has not taken it, item analysis, export; auto-assembly."""
import io

from openpyxl import load_workbook

from core import clock
from core.extensions import db
from quizzes import stats
from quizzes.bank import IMPORT_HEADERS
from quizzes.models import Quiz
from tests import factories
from tests.factories import csv_upload
from tests.quizzes.helpers import answers_for, make_bank


def _quiz(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    bank = make_bank(org.committee_a)
    body = client.post(f"/api/v1/committees/{org.committee_a.id}/quizzes", headers=login(org.admin_a),
                       json={"question_ids": [q.id for q in bank]}).get_json()
    return body["id"], bank


def _take(client, headers, quiz_id, answers):
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers).get_json()
    return client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers,
                       json={"answers": answers}).get_json()["result"]["score"]


def test_a_secretary_sees_their_branch_and_an_admin_each_branch(client, login, org, frozen):
    quiz_id, bank = _quiz(client, login, org, frozen)
    assert _take(client, login(org.member_a), quiz_id, answers_for(bank)) == 40
    assert _take(client, login(org.member_a2), quiz_id, answers_for(bank, only={"single"})) == 10
    assert _take(client, login(org.member_a2_branch), quiz_id, answers_for(bank, only={"single", "judge"})) == 20
    own = client.get(f"/api/v1/quizzes/{quiz_id}/stats", headers=login(org.secretary_a)).get_json()
    assert [b["branch_id"] for b in own["branches"]] == [org.branch_a.id]
    mine = own["overall"]
    assert (mine["audience"], mine["submitted"], mine["not_submitted"]) == (3, 2, 1)
    assert mine["participation_rate"] == round(2 / 3, 4) and mine["average_score"] == 25.0
    assert mine["median_score"] == 25.0 and mine["pass_rate"] == 0.5
    every = client.get(f"/api/v1/quizzes/{quiz_id}/stats", headers=login(org.admin_a)).get_json()
    by_branch = {b["branch_id"]: b for b in every["branches"]}
    assert set(by_branch) == {org.branch_a.id, org.branch_a2.id}
    assert by_branch[org.branch_a2.id]["submitted"] == 1 and by_branch[org.branch_a2.id]["pass_rate"] == 0.0
    assert every["overall"]["audience"] == 5 and every["overall"]["median_score"] == 20.0
    one = client.get(f"/api/v1/quizzes/{quiz_id}/stats?branch_id={org.branch_a2.id}", headers=login(org.admin_a))
    assert [b["branch_id"] for b in one.get_json()["branches"]] == [org.branch_a2.id]
    pending = client.get(f"/api/v1/quizzes/{quiz_id}/pending", headers=login(org.secretary_a)).get_json()
    assert [m["name"] for m in pending["items"]] == ["钱书记"]
    assert client.get(f"/api/v1/quizzes/{quiz_id}/stats", headers=login(org.admin_b)).status_code == 404
    assert client.get(f"/api/v1/quizzes/{quiz_id}/stats", headers=login(org.member_a)).status_code == 403
    assert client.get(f"/api/v1/quizzes/{quiz_id}/stats?branch_id={org.branch_a2.id}",
                      headers=login(org.secretary_a)).status_code == 404


def test_the_scheduler_facing_queries(client, login, org, frozen):
    quiz_id, bank = _quiz(client, login, org, frozen)
    _take(client, login(org.member_a), quiz_id, answers_for(bank))
    quiz = db.session.get(Quiz, quiz_id)
    audience = set(db.session.scalars(stats.quiz_audience(quiz)))
    assert audience == {org.member_a.id, org.member_a2.id, org.secretary_a.id, org.member_a2_branch.id,
                        org.secretary_a2.id}
    assert set(db.session.scalars(stats.members_not_submitted(quiz))) == audience - {org.member_a.id}
    from quizzes.services import open_quizzes
    assert [q.id for q in db.session.scalars(open_quizzes(clock.now()))] == [quiz_id]
    week = stats.branch_quiz_summary([org.branch_a.id, org.branch_a2.id, org.branch_b.id], "2026-W48")
    assert {r["branch_id"]: r["submitted"] for r in week} == {org.branch_a.id: 1, org.branch_a2.id: 0}
    assert stats.branch_quiz_summary([org.branch_a.id], quiz)[0]["average_score"] == 40.0


def test_item_analysis_after_close(client, login, org, frozen, fake_wechat):
    quiz_id, bank = _quiz(client, login, org, frozen)
    extra = [factories.member(org.branch_a, name=f"党员甲{i}") for i in range(6)]
    by_kind = {q.kind: q for q in bank}
    # Strong takers get everything; weak ones only the judge question, picking distractor B on the single.
    for member in [org.member_a, org.member_a2] + extra[:2]:
        _take(client, login(member), quiz_id, answers_for(bank))
    for member in extra[2:]:
        _take(client, login(member), quiz_id, {**answers_for(bank, right=False), str(by_kind["judge"].id): "T"})
    early = client.get(f"/api/v1/quizzes/{quiz_id}/items", headers=login(org.admin_a))
    assert early.status_code == 409 and early.get_json()["code"] == "quiz_not_closed"
    frozen("2026-11-30 01:00")
    headers = factories.login_headers(client, fake_wechat, org.admin_a)  # a fresh token a week later
    body = client.get(f"/api/v1/quizzes/{quiz_id}/items", headers=headers).get_json()
    assert body["takers"] == 8 and body["group_size"] == 3
    items = {i["question_id"]: i for i in body["items"]}
    single = items[by_kind["single"].id]
    assert single["facility"] == 0.5 and single["discrimination"] == 1.0 and single["dubious"] is False
    options = {o["key"]: o for o in single["options"]}
    assert options["A"]["chosen"] == 4 and options["A"]["is_key"] and options["B"]["chosen"] == 4
    assert options["A"]["chosen_by_upper"] == 3 and options["B"]["chosen_by_upper"] == 0
    judge = items[by_kind["judge"].id]
    assert judge["facility"] == 1.0 and judge["discrimination"] == 0.0 and judge["dubious"] is True
    assert "过易" in judge["reasons"] and "区分度低" in judge["reasons"]
    multiple = {o["key"]: o["chosen"] for o in items[by_kind["multiple"].id]["options"]}
    assert multiple == {"A": 8, "B": 4, "C": 4, "D": 4, "E": 4}
    assert items[by_kind["blank"].id]["facility"] == 0.5


def test_export_lists_everyone_with_chinese_headers(client, login, org, frozen):
    quiz_id, bank = _quiz(client, login, org, frozen)
    _take(client, login(org.member_a), quiz_id, answers_for(bank))
    response = client.get(f"/api/v1/quizzes/{quiz_id}/export", headers=login(org.secretary_a))
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("支部", "姓名", "手机号", "状态", "得分", "总分", "是否及格", "作答次数", "提交时间")
    assert rows[1][:7] == ("甲一支部", "张三", org.member_a.phone, "已完成", 40, 40, "是")
    assert {r[1] for r in rows[2:]} == {"李四", "钱书记"} and all(r[3] == "未参加" for r in rows[2:])


def test_a_quiz_assembled_automatically_from_an_imported_bank(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    headers = login(org.admin_a)
    rows = []
    for i in range(6):
        rows.append(["单选题", f"第{i}道单选题？", "甲", "乙", "丙", "", "", "", "A", "", "党史" if i < 4 else "党章",
                     "易" if i % 2 else "难", ""])
        rows.append(["判断题", f"第{i}道判断题。", "", "", "", "", "", "", "错误", "", "党章", "中", ""])
    imported = client.post(f"/api/v1/committees/{org.committee_a.id}/questions/import", headers=headers,
                           data={"file": csv_upload(rows, IMPORT_HEADERS)})
    assert imported.get_json()["created"] == 12
    rules = [{"kind": "single", "tag": "党史", "count": 2}, {"kind": "judge", "count": 3}]
    first = client.post(f"/api/v1/committees/{org.committee_a.id}/quizzes", headers=headers,
                        json={"week_key": "2026-W48", "rules": rules})
    assert first.status_code == 201, first.get_json()
    items = first.get_json()["items"]
    assert [i["question"]["kind"] for i in items] == ["single", "single", "judge", "judge", "judge"]
    assert all("党史" in i["question"]["tags"] for i in items[:2])
    assert first.get_json()["assembly"]["avoid_weeks"] == 4
    # Next week avoids what this week used: 2 of 4 党史 singles and 3 of 6 judges are left, exactly enough.
    second = client.post(f"/api/v1/committees/{org.committee_a.id}/quizzes", headers=headers,
                         json={"week_key": "2026-W49", "rules": rules}).get_json()
    used = {i["question"]["id"] for i in items}
    assert not used & {i["question"]["id"] for i in second["items"]}
    short = client.post(f"/api/v1/committees/{org.committee_a.id}/quizzes", headers=headers,
                        json={"week_key": "2026-W50", "rules": rules})
    assert short.status_code == 422 and short.get_json()["code"] == "bank_too_small"
    assert short.get_json()["details"]["shortages"][0] == {"rule": 0, "needed": 2, "available": 0}
    again = client.post(f"/api/v1/committees/{org.committee_a.id}/quizzes", headers=headers,
                        json={"week_key": "2026-W48", "rules": rules})
    assert again.status_code == 409 and again.get_json()["code"] == "quiz_exists"
    # A member of the committee takes the assembled quiz without ever seeing its answers.
    member = login(org.member_a)
    current = client.get("/api/v1/quizzes/current", headers=member).get_json()
    assert current["quiz"]["id"] == first.get_json()["id"] and current["quiz"]["question_count"] == 5


def test_bad_quiz_requests_are_clear(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    bank = make_bank(org.committee_a)
    other = make_bank(org.committee_b)
    headers = login(org.admin_a)
    url = f"/api/v1/committees/{org.committee_a.id}/quizzes"
    cases = [({"question_ids": [bank[0].id], "rules": [{"count": 1}]}, 422),
             ({}, 422),
             ({"question_ids": [other[0].id]}, 422),
             ({"question_ids": [bank[0].id], "week_key": "2026-W47"}, 422),
             ({"question_ids": [bank[0].id], "week_key": "2026W47"}, 422),
             ({"question_ids": [bank[0].id], "score": 100}, 422)]
    for body, status in cases:
        assert client.post(url, headers=headers, json=body).status_code == status, body
    assert client.post(f"/api/v1/committees/{org.committee_b.id}/quizzes", headers=headers,
                       json={"question_ids": [bank[0].id]}).status_code == 404
    assert client.post(url, headers=login(org.secretary_a), json={"question_ids": [bank[0].id]}).status_code == 403
    created = client.post(url, headers=headers, json={"question_ids": [bank[0].id]}).get_json()
    # The secretary of a branch that takes the quiz sees it, but not its answers; its manager does.
    seen = client.get(f"/api/v1/quizzes/{created['id']}", headers=login(org.secretary_a)).get_json()
    assert seen["items"][0]["question"]["answer"] is None and seen["items"][0]["question"]["answers_withheld"]
    seen = client.get(f"/api/v1/quizzes/{created['id']}", headers=headers).get_json()
    assert seen["items"][0]["question"]["answer"] == "A" and not seen["items"][0]["question"]["answers_withheld"]
    member = login(org.member_a)
    client.post(f"/api/v1/quizzes/{created['id']}/attempts", headers=member)
    assert client.delete(f"/api/v1/quizzes/{created['id']}", headers=headers).status_code == 409
    assert db.session.scalar(db.select(db.func.count()).select_from(Quiz)) == 1
