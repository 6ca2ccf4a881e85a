"""Progress, the branch tally (公示), exports, monthly postings, completion rates, policies and pace."""
import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from core import clock
from core.extensions import db
from quotas import rules, stats
from quotas.services import BOARD_HEADERS


def _complete(client, login, org, make_exchange, report_book, member, attends=4):
    """Give `member` one talk, `attends` attendances and one approved book (branch A, 2026)."""
    make_exchange(org.secretary_a, speakers=[member], title="发言")
    others = []
    for n in range(attends):
        others.append(make_exchange(org.secretary_a, speakers=[org.member_a2], title=f"交流{n}",
                                    starts=f"2026-0{n + 3}-10T14:00:00", ends=f"2026-0{n + 3}-10T15:00:00"))
    for exchange in others:
        client.post(f"/api/v1/exchanges/{exchange['id']}/attendance", json={"member_ids": [member.id]},
                    headers=login(org.secretary_a))
    report = report_book(member).get_json()
    client.post(f"/api/v1/books/{report['id']}/review", json={"approve": True}, headers=login(org.secretary_a))


def test_my_quota_shows_counts_records_and_pace(client, login, org, frozen, make_exchange, report_book):
    frozen("2026-10-01 09:00")  # September is over: 3 of 4 attended are expected by now
    make_exchange(org.secretary_a, speakers=[org.member_a], starts="2026-09-10T14:00:00", ends="2026-09-10T15:00:00")
    for n in range(2):
        exchange = make_exchange(org.secretary_a, speakers=[org.member_a2], title=f"交流{n}",
                                 starts=f"2026-0{n + 4}-10T14:00:00", ends=f"2026-0{n + 4}-10T15:00:00")
        client.post(f"/api/v1/exchanges/{exchange['id']}/attendance", json={"member_ids": [org.member_a.id]},
                    headers=login(org.secretary_a))
    report_book(org.member_a, finished_on="2026-09-20")
    mine = client.get("/api/v1/me/quota?year=2026", headers=login(org.member_a)).get_json()
    assert (mine["given"], mine["attended"], mine["read"]) == (1, 2, 0)
    assert mine["policy"] == {"year": 2026, "talks": 1, "attends": 4, "books": 1, "source": "default"}
    assert mine["pace"] == "behind" and mine["complete"] is False
    assert mine["items"]["attends"] == {"done": 2, "quota": 4, "expected": 3, "on_track": False}
    assert mine["items"]["books"]["expected"] == 1 and mine["books"][0]["status"] == "pending"
    assert len(mine["attendance"]) == 2 and mine["attendance"][0]["via"] == "secretary"
    assert client.get("/api/v1/me/quota?year=1999", headers=login(org.member_a)).status_code == 422
    # Drill-down by the secretary; another branch's secretary cannot.
    drill = client.get(f"/api/v1/members/{org.member_a.id}/quota?year=2026", headers=login(org.secretary_a))
    assert drill.status_code == 200 and drill.get_json()["attended"] == 2
    assert client.get(f"/api/v1/members/{org.member_a.id}/quota",
                      headers=login(org.secretary_b)).status_code == 404
    # Who is behind, for the scheduler's reminders.
    behind = set(db.session.scalars(stats.members_behind_pace(2026, clock.today(), org.branch_a.id)))
    assert org.member_a.id in behind and org.member_a2.id in behind


def test_the_board_counts_approved_records_and_hides_reflections(client, login, org, frozen, make_exchange,
                                                                 report_book):
    frozen("2026-11-23 18:00")  # the day's exchange is over
    _complete(client, login, org, make_exchange, report_book, org.member_a)
    report_book(org.member_a2)  # pending: not counted
    url = f"/api/v1/branches/{org.branch_a.id}/quota-board?year=2026"
    board = client.get(url, headers=login(org.member_a2))
    assert board.status_code == 200
    body = board.get_json()
    rows = {r["name"]: r for r in body["members"]}
    assert rows["张三"] == {"member_id": org.member_a.id, "name": "张三", "group": None, "given": 1,
                            "attended": 4, "read": 1, "given_scheduled": 0, "attended_scheduled": 0,
                            "complete": True}
    assert rows["李四"]["read"] == 0 and rows["李四"]["complete"] is False
    assert rows["李四"]["given"] == 4
    assert body["complete_count"] == 1 and body["member_count"] == 3
    assert "reflection" not in board.get_data(as_text=True) and "心得" not in board.get_data(as_text=True)
    assert client.get(url, headers=login(org.member_a2_branch)).status_code == 404
    assert client.get(url, headers=login(org.secretary_b)).status_code == 404
    assert client.get(url, headers=login(org.admin_a)).status_code == 200
    assert org.member_a.id not in set(db.session.scalars(stats.members_behind_pace(2026, clock.today())))


def test_exports_keep_their_chinese_headers(client, login, org, frozen, make_exchange, report_book):
    frozen("2026-11-23 18:00")  # the day's exchange is over
    _complete(client, login, org, make_exchange, report_book, org.member_a)
    base = f"/api/v1/branches/{org.branch_a.id}/quota-board/export?year=2026"
    xlsx = client.get(base + "&format=xlsx", headers=login(org.secretary_a))
    assert xlsx.status_code == 200 and "filename*=UTF-8''" in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == BOARD_HEADERS == ("姓名", "党小组", "交流发言（次）", "参加交流（次）",
        "阅读书籍（本）", "是否完成")
    assert ("张三", None, 1, 4, 1, "已完成") in values or ("张三", "", 1, 4, 1, "已完成") in values

    raw = client.get(base + "&format=csv", headers=login(org.secretary_a))
    assert raw.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == BOARD_HEADERS
    assert ["张三", "", "1", "4", "1", "已完成"] in rows
    assert client.get(base, headers=login(org.member_a)).status_code == 403
    assert client.get(base, headers=login(org.secretary_a2)).status_code == 404
    assert client.get(base + "&format=pdf", headers=login(org.secretary_a)).status_code == 422


def test_a_monthly_posting_freezes_what_was_posted(client, login, org, frozen, make_exchange, report_book):
    frozen("2026-11-28 08:00")  # near enough to December that the session tokens stay valid
    url = f"/api/v1/branches/{org.branch_a.id}/quota-postings"
    assert client.post(url, json={}, headers=login(org.member_a)).status_code == 403
    first = client.post(url, json={}, headers=login(org.secretary_a))
    assert first.status_code == 201
    posting = first.get_json()
    assert posting["period"] == "2026-11" and posting["complete_count"] == 0
    again = client.post(url, json={}, headers=login(org.secretary_a))
    assert again.status_code == 200 and again.get_json()["id"] == posting["id"]

    _complete(client, login, org, make_exchange, report_book, org.member_a)
    frozen_board = client.get(f"{url}/{posting['id']}", headers=login(org.member_a)).get_json()
    assert all(r["complete"] is False for r in frozen_board["rows"])  # what was posted stays as it was

    frozen("2026-12-01 09:00")
    december = client.post(url, json={}, headers=login(org.secretary_a)).get_json()
    assert december["period"] == "2026-12" and december["complete_count"] == 1
    listed = client.get(url + "?year=2026", headers=login(org.member_a2)).get_json()
    assert [p["period"] for p in listed["items"]] == ["2026-12", "2026-11"]
    assert client.get(url, headers=login(org.member_b)).status_code == 404
    other = client.get(f"/api/v1/branches/{org.branch_a2.id}/quota-postings/{posting['id']}",
                       headers=login(org.admin_a))
    assert other.status_code == 404


def test_admins_see_each_branchs_completion_rate(client, login, org, frozen, make_exchange, report_book):
    frozen("2026-11-23 18:00")  # the day's exchange is over
    _complete(client, login, org, make_exchange, report_book, org.member_a)
    url = f"/api/v1/committees/{org.committee_a.id}/quota-completion?year=2026"
    rates = {r["branch_name"]: r for r in client.get(url, headers=login(org.admin_a)).get_json()}
    assert rates["甲一支部"]["member_count"] == 3 and rates["甲一支部"]["complete_count"] == 1
    assert rates["甲一支部"]["completion_rate"] == round(1 / 3, 4)
    assert rates["甲二支部"] == {**rates["甲二支部"], "member_count": 2, "complete_count": 0, "completion_rate": 0.0}
    assert "乙一支部" not in rates
    assert client.get(url, headers=login(org.admin_b)).status_code == 404
    assert client.get(url, headers=login(org.secretary_a)).status_code == 403


def test_policies_per_committee_with_branch_overrides(client, login, org, frozen, make_exchange, report_book):
    frozen("2026-11-23 18:00")  # the day's exchange is over
    url = f"/api/v1/committees/{org.committee_a.id}/quota-policy"
    body = {"year": 2026, "talks": 1, "attends": 2, "books": 1}
    assert client.put(url, json=body, headers=login(org.admin_b)).status_code == 404
    assert client.put(url, json=body, headers=login(org.secretary_a)).status_code == 403
    assert client.put(url, json={**body, "attends": -1}, headers=login(org.admin_a)).status_code == 422
    assert client.put(url, json=body, headers=login(org.admin_a)).get_json()["source"] == "committee"
    branch_url = f"/api/v1/branches/{org.branch_a.id}/quota-policy"
    assert client.get(branch_url + "?year=2026", headers=login(org.member_a)).get_json()["attends"] == 2
    _complete(client, login, org, make_exchange, report_book, org.member_a, attends=2)
    board = client.get(f"/api/v1/branches/{org.branch_a.id}/quota-board?year=2026", headers=login(org.member_a))
    assert board.get_json()["members"][[r["name"] for r in board.get_json()["members"]].index("张三")]["complete"]

    override = client.put(branch_url, json={**body, "attends": 3}, headers=login(org.admin_a))
    assert override.status_code == 200 and override.get_json()["source"] == "branch"
    assert client.put(branch_url, json=body, headers=login(org.secretary_a)).status_code == 403
    rows = client.get(f"/api/v1/branches/{org.branch_a.id}/quota-board?year=2026",
                      headers=login(org.member_a)).get_json()["members"]
    assert not any(r["complete"] for r in rows)
    mine = client.get("/api/v1/me/quota?year=2026", headers=login(org.member_a)).get_json()
    assert mine["policy"]["attends"] == 3 and mine["complete"] is False
    cleared = client.delete(branch_url + "?year=2026", headers=login(org.admin_a))
    assert cleared.get_json()["source"] == "committee"
    # Another year still uses the defaults.
    assert client.get(branch_url + "?year=2027", headers=login(org.member_a)).get_json()["source"] == "default"


def test_a_book_finished_on_new_years_eve_counts_for_that_year(client, login, org, frozen, report_book):
    frozen("2027-01-01 00:10")  # Beijing time: already 2027, while UTC is still 2026-12-31
    late = report_book(org.member_a, finished_on="2026-12-31").get_json()
    today = report_book(org.member_a2, finished_on="2027-01-01").get_json()
    assert (late["year"], today["year"]) == (2026, 2027)
    for report in (late, today):
        client.post(f"/api/v1/books/{report['id']}/review", json={"approve": True}, headers=login(org.secretary_a))
    assert client.get("/api/v1/me/quota", headers=login(org.member_a2)).get_json()["year"] == 2027
    assert client.get("/api/v1/me/quota", headers=login(org.member_a2)).get_json()["read"] == 1
    assert client.get("/api/v1/me/quota?year=2026", headers=login(org.member_a)).get_json()["read"] == 1


@pytest.mark.parametrize("day, behind", [
    (date(2026, 5, 31), False),   # 5 months: 2 of 4 attended expected, the talk and the book not yet
    (date(2026, 6, 29), False),
    (date(2026, 6, 30), True),    # June is over: the book is due and still missing
    (date(2026, 9, 30), True),
])
def test_members_behind_pace_matches_the_rule(client, login, org, frozen, make_exchange, day, behind):
    frozen("2026-11-23 08:00")
    make_exchange(org.secretary_a, speakers=[org.member_a], starts="2026-02-10T14:00:00", ends="2026-02-10T15:00:00")
    for n in range(2):
        exchange = make_exchange(org.secretary_a, speakers=[org.member_a2], title=f"交流{n}",
                                 starts=f"2026-0{n + 3}-10T14:00:00", ends=f"2026-0{n + 3}-10T15:00:00")
        client.post(f"/api/v1/exchanges/{exchange['id']}/attendance", json={"member_ids": [org.member_a.id]},
                    headers=login(org.secretary_a))
    ids = set(db.session.scalars(stats.members_behind_pace(2026, day, org.branch_a.id)))
    assert (org.member_a.id in ids) is behind
    counts = {"talks": 1, "attends": 2, "books": 0}
    assert (rules.pace(counts, {"talks": 1, "attends": 4, "books": 1}, 2026, day)["status"] == "behind") is behind
