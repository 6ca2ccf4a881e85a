"""One weekly reading rate: material whose day has come, the same in the API, the console and the exports."""
import csv
import io
import re

from openpyxl import load_workbook

from tests.learning.helpers import publish

WEEK = "2026-W49"  # Monday 2026-11-30 … Sunday 2026-12-06


def _study(client, headers, item, frozen, start, end):
    frozen(start)
    client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers)
    frozen(end)
    response = client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=headers)
    assert response.get_json()["completed"] is True, response.get_json()


def _week_studied_to_wednesday(client, login, org, frozen):
    """Branch A1 (3 members) has an item each day Monday–Saturday; by Wednesday evening 3 readings are done."""
    frozen("2026-11-30 07:00")
    secretary = login(org.secretary_a)
    items = [publish(client, secretary, day=f"2026-{day}", minutes=1, title=f"第{n}篇")
             for n, day in enumerate(("11-30", "12-01", "12-02", "12-03", "12-04", "12-05"), start=1)]
    _study(client, login(org.member_a), items[0], frozen, "2026-11-30 09:00", "2026-11-30 09:05")
    _study(client, login(org.member_a), items[1], frozen, "2026-12-01 09:00", "2026-12-01 09:05")
    _study(client, login(org.member_a2), items[2], frozen, "2026-12-02 09:00", "2026-12-02 09:05")
    frozen("2026-12-02 20:00")
    return items


def _summary_row(rows):
    """The export's 合计 row as {header: value}."""
    headers, *body = rows
    total = [r for r in body if r[0] == "合计"]
    assert len(total) == 1, rows
    return dict(zip(headers, total[0]))


def test_mid_week_the_rate_counts_only_material_whose_day_has_come_everywhere(client, login, org, frozen, desk):
    _week_studied_to_wednesday(client, login, org, frozen)

    # API: Monday–Wednesday's three items are due for three members; Thursday–Saturday's are not yet.
    body = client.get(f"/api/v1/branches/{org.branch_a.id}/reading?week={WEEK}", headers=login(org.secretary_a))
    assert body.status_code == 200, body.get_json()
    summary = body.get_json()["summary"]
    assert (summary["materials"], summary["expected"], summary["completed"], summary["rate"]) == (3, 9, 3, 0.3333)
    assert [m["title"] for m in body.get_json()["materials"]] == ["第1篇", "第2篇", "第3篇"]
    assert {m["name"]: (m["completed"], m["total"]) for m in body.get_json()["members"]} == {
        "张三": (2, 3), "李四": (1, 3), "钱书记": (0, 3)}
    committee = client.get(f"/api/v1/committees/{org.committee_a.id}/reading?week={WEEK}",
                           headers=login(org.admin_a)).get_json()
    row = next(r for r in committee["items"] if r["branch_id"] == org.branch_a.id)
    assert (row["expected"], row["completed"], row["rate"]) == (9, 3, 0.3333)

    # The console's branch page: the same rate, of the same counts.
    page = desk(org.secretary_a).get(f"/console/branches/{org.branch_a.id}").get_data(as_text=True)
    card = re.search(r'id="card-reading".*?</article>', page, re.S).group(0)
    assert "33%" in card and "已学 3 / 应学 9 篇次" in card

    # The exports, from the API and from the console, CSV and XLSX: the same counts and rate.
    api_csv = client.get(f"/api/v1/branches/{org.branch_a.id}/reading/export?week={WEEK}&format=csv",
                         headers=login(org.secretary_a))
    assert api_csv.status_code == 200 and api_csv.mimetype == "text/csv"
    console_xlsx = desk(org.secretary_a).get(f"/console/branches/{org.branch_a.id}/reading/export?kind=xlsx")
    assert console_xlsx.status_code == 200, console_xlsx.get_data(as_text=True)[:300]
    csv_rows = list(csv.reader(io.StringIO(api_csv.get_data().decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(console_xlsx.get_data()), read_only=True).active
    xlsx_rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    for rows in (csv_rows, xlsx_rows):
        total = _summary_row(rows)
        assert (total["已学（篇次）"], total["应学（篇次）"], total["完成率"]) == ("3", "9", "33%")
        people = {r[0]: r for r in rows[1:] if r[0] != "合计"}
        assert set(people) == {"张三", "李四", "钱书记"}
        assert people["张三"][1:3] == ["2", "3"]


def test_on_monday_the_week_counts_monday_only(client, login, org, frozen, desk):
    frozen("2026-11-30 07:00")
    secretary = login(org.secretary_a)
    for day in ("11-30", "12-01", "12-02"):
        publish(client, secretary, day=f"2026-{day}", minutes=1, title=f"{day} 学习")
    frozen("2026-11-30 20:00")
    summary = client.get(f"/api/v1/branches/{org.branch_a.id}/reading?week={WEEK}",
                         headers=secretary).get_json()["summary"]
    assert (summary["materials"], summary["expected"], summary["rate"]) == (1, 3, 0.0)
    # A past week is whole: every day of it has come.
    frozen("2026-12-07 06:00")
    summary = client.get(f"/api/v1/branches/{org.branch_a.id}/reading?week={WEEK}",
                         headers=secretary).get_json()["summary"]
    assert (summary["materials"], summary["expected"]) == (3, 9)
