"""Book reports: ISBN and reflection checks, approval, rejection, revision, and one count per book per year."""
from core.extensions import db
from learning.models import PointEntry
from tests.quotas.conftest import REFLECTION


def _read(client, login, who, year=2026):
    return client.get(f"/api/v1/me/quota?year={year}", headers=login(who)).get_json()["read"]


def _review(client, login, who, report_id, **body):
    return client.post(f"/api/v1/books/{report_id}/review", json=body, headers=login(who))


def test_a_book_report_is_checked(client, login, org, frozen, report_book):
    frozen("2026-11-23 08:00")
    bad_isbn = report_book(org.member_a, isbn="978-7-111-54742-5")
    assert bad_isbn.status_code == 422 and bad_isbn.get_json()["code"] == "isbn_invalid"
    assert "isbn" in bad_isbn.get_json()["details"]["fields"]
    short = client.post("/api/v1/me/books", json={"title": "书", "author": "某", "finished_on": "2026-10-01",
                                                  "reflection": "很好" * 10}, headers=login(org.member_a))
    assert short.status_code == 422 and short.get_json()["code"] == "reflection_too_short"
    assert report_book(org.member_a, finished_on="2026-12-01").status_code == 422  # not read yet
    assert report_book(org.member_a, status="approved").status_code == 422  # status is never loadable
    good = report_book(org.member_a, isbn="7-111-54742-X")
    assert good.status_code == 201 and good.get_json()["isbn"] == "9787111547426"
    assert good.get_json()["status"] == "pending"


def test_a_rejected_book_does_not_count_and_a_resubmitted_one_does(client, login, org, frozen, report_book):
    frozen("2026-11-23 08:00")
    report = report_book(org.member_a).get_json()
    queue = client.get(f"/api/v1/branches/{org.branch_a.id}/books?status=pending", headers=login(org.secretary_a))
    assert [b["id"] for b in queue.get_json()["items"]] == [report["id"]]
    assert queue.get_json()["items"][0]["reflection"] == REFLECTION.strip()  # the reviewer reads it

    assert _review(client, login, org.secretary_a, report["id"], approve=False).status_code == 422
    rejected = _review(client, login, org.secretary_a, report["id"], approve=False, reason="心得过于笼统，请结合工作")
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["reject_reason"]
    assert _read(client, login, org.member_a) == 0
    mine = client.get("/api/v1/me/quota?year=2026", headers=login(org.member_a)).get_json()
    assert mine["books"][0]["status"] == "rejected" and mine["books"][0]["reject_reason"] == "心得过于笼统，请结合工作"

    again = report_book(org.member_a)  # reporting it anew is pointed at the rejected one
    assert again.status_code == 409 and again.get_json()["details"]["report_id"] == report["id"]
    revised = client.put(f"/api/v1/books/{report['id']}", headers=login(org.member_a), json={
        "title": "数据密集型应用系统设计", "author": "Martin Kleppmann", "finished_on": "2026-10-08",
        "reflection": REFLECTION + "结合本部门的数据同步方案，我提出了三点改进。"})
    assert revised.status_code == 200 and revised.get_json()["status"] == "pending"
    assert revised.get_json()["revisions"] == 1
    approved = _review(client, login, org.secretary_a, report["id"], approve=True)
    assert approved.get_json()["status"] == "approved"
    assert _read(client, login, org.member_a) == 1
    assert db.session.scalar(db.select(PointEntry.points).where(PointEntry.rule == "quota_book_read")) == 5
    assert _review(client, login, org.secretary_a, report["id"], approve=True).status_code == 409
    assert client.put(f"/api/v1/books/{report['id']}", headers=login(org.member_a), json={
        "title": "数据密集型应用系统设计", "author": "Martin Kleppmann", "finished_on": "2026-10-08",
        "reflection": REFLECTION}).status_code == 409


def test_the_same_book_twice_in_a_year_counts_once(client, login, org, frozen, report_book):
    frozen("2026-11-23 08:00")
    first = report_book(org.member_a, isbn="9787111547426")
    retry = report_book(org.member_a, isbn="9787111547426")  # a flaky network sends it again
    assert first.status_code == 201 and retry.status_code == 200
    assert retry.get_json()["id"] == first.get_json()["id"]
    _review(client, login, org.secretary_a, first.get_json()["id"], approve=True)
    twice = report_book(org.member_a, title="数据密集型应用 系统设计", isbn="7-111-54742-X", finished_on="2026-11-01")
    assert twice.status_code == 409 and twice.get_json()["code"] == "book_already_reported"
    same_title = report_book(org.member_a, title="数据密集型应用系统设计", author="martin kleppmann")
    assert same_title.status_code == 201  # no ISBN: title + author is the identity
    other = report_book(org.member_a, title="凤凰架构", author="周志明")
    _review(client, login, org.secretary_a, other.get_json()["id"], approve=True)
    assert _read(client, login, org.member_a) == 2
    last_year = report_book(org.member_a, isbn="9787111547426", finished_on="2025-12-20")
    assert last_year.status_code == 201 and last_year.get_json()["year"] == 2025


def test_only_the_owners_secretary_reviews_and_only_the_owner_revises(client, login, org, frozen, report_book):
    frozen("2026-11-23 08:00")
    report = report_book(org.member_a).get_json()
    assert _review(client, login, org.secretary_b, report["id"], approve=True).status_code == 404
    assert _review(client, login, org.secretary_a2, report["id"], approve=True).status_code == 404
    assert _review(client, login, org.member_a2, report["id"], approve=True).status_code == 403
    assert client.get(f"/api/v1/books/{report['id']}", headers=login(org.member_a2)).status_code == 404
    assert client.get(f"/api/v1/branches/{org.branch_a.id}/books", headers=login(org.secretary_b)).status_code == 404
    assert client.get(f"/api/v1/branches/{org.branch_a.id}/books", headers=login(org.member_a)).status_code == 403
    assert client.put(f"/api/v1/books/{report['id']}", headers=login(org.secretary_a), json={
        "title": "x", "author": "y", "finished_on": "2026-10-08", "reflection": REFLECTION}).status_code == 403
    own = report_book(org.secretary_a).get_json()
    assert _review(client, login, org.secretary_a, own["id"], approve=True).status_code == 403
    assert _review(client, login, org.admin_a, own["id"], approve=True).status_code == 200
    listed = client.get("/api/v1/me/books?year=2026", headers=login(org.member_a)).get_json()
    assert listed["total"] == 1


def test_each_review_tells_the_member_once_in_their_inbox_with_the_reason(client, login, org, frozen, report_book):
    frozen("2026-11-23 08:00")
    report = report_book(org.member_a).get_json()
    frozen("2026-11-23 09:00")
    assert _review(client, login, org.secretary_a, report["id"], approve=False,
                   reason="心得过于笼统，请结合工作").status_code == 200
    assert _review(client, login, org.secretary_a, report["id"], approve=False, reason="重复点击").status_code == 409
    inbox = client.get("/api/v1/me/inbox", headers=login(org.member_a)).get_json()
    assert inbox["total"] == 1
    [told] = inbox["items"]
    assert (told["kind"], told["title"], told["page"]) == ("book_reviewed", "读书报告审核结果", "pages/quota/index")
    assert told["body"] == ("您提交的读书报告《数据密集型应用系统设计》未通过审核，原因：心得过于笼统，请结合工作。"
                            "可修改后重新提交。")

    frozen("2026-11-23 10:00")
    assert client.put(f"/api/v1/books/{report['id']}", headers=login(org.member_a), json={
        "title": "数据密集型应用系统设计", "author": "Martin Kleppmann", "finished_on": "2026-10-08",
        "reflection": REFLECTION + "结合本部门的数据同步方案，我提出了三点改进。"}).status_code == 200
    frozen("2026-11-23 11:00")
    assert _review(client, login, org.secretary_a, report["id"], approve=True).status_code == 200
    assert _review(client, login, org.secretary_a, report["id"], approve=True).status_code == 409
    inbox = client.get("/api/v1/me/inbox", headers=login(org.member_a)).get_json()
    assert [i["body"] for i in inbox["items"]][0] == \
        "您提交的读书报告《数据密集型应用系统设计》已审核通过，计入本年度 1+4+1 读书任务。"
    assert inbox["total"] == 2
    # Only the member hears it.
    assert client.get("/api/v1/me/inbox", headers=login(org.member_a2)).get_json()["total"] == 0
