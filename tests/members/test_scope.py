"""Each role is refused everywhere outside its scope, with no hint of what exists."""
import pytest


def test_members_list_is_for_the_branch_secretary_and_admins_above(client, login, org):
    url = f"/api/v1/branches/{org.branch_a.id}/members"
    assert client.get(url, headers=login(org.secretary_a)).status_code == 200
    assert client.get(url, headers=login(org.admin_a)).status_code == 200
    assert client.get(url, headers=login(org.member_a)).status_code == 403
    assert client.get(url, headers=login(org.secretary_b)).status_code == 404
    assert client.get(url, headers=login(org.secretary_a2)).status_code == 404
    assert client.get(url, headers=login(org.admin_b)).status_code == 404
    assert client.get(url).status_code == 401


def test_a_guessed_branch_id_looks_the_same_as_a_missing_one(client, login, org):
    headers = login(org.secretary_b)
    real = client.get(f"/api/v1/branches/{org.branch_a.id}/members", headers=headers)
    missing = client.get("/api/v1/branches/999999/members", headers=headers)
    assert real.status_code == missing.status_code == 404
    # Each answer carries its own request id (as every error does); apart from it they are the same.
    bodies = [r.get_json() for r in (real, missing)]
    assert [b["details"].pop("request_id") for b in bodies] == [r.headers["X-Request-ID"] for r in (real, missing)]
    assert bodies[0] == bodies[1]


def test_member_search_and_pagination(client, login, org):
    headers = login(org.secretary_a)
    page = client.get(f"/api/v1/branches/{org.branch_a.id}/members?per_page=2", headers=headers).get_json()
    assert page["total"] == 3 and len(page["items"]) == 2
    found = client.get(f"/api/v1/branches/{org.branch_a.id}/members?q=张", headers=headers).get_json()
    assert [m["name"] for m in found["items"]] == ["张三"]
    odd = client.get(f"/api/v1/branches/{org.branch_a.id}/members?q=%25' OR 1=1 --", headers=headers).get_json()
    assert odd["total"] == 0
    bad = client.get(f"/api/v1/branches/{org.branch_a.id}/members?per_page=0", headers=headers)
    assert bad.status_code == 422


def test_admins_see_only_their_committees_branches(client, login, org):
    mine = client.get(f"/api/v1/committees/{org.committee_a.id}/branches", headers=login(org.admin_a))
    assert sorted(b["name"] for b in mine.get_json()) == ["甲一支部", "甲二支部"]
    assert client.get(f"/api/v1/committees/{org.committee_a.id}/branches",
                      headers=login(org.admin_b)).status_code == 404
    assert client.get(f"/api/v1/committees/{org.committee_a.id}/branches",
                      headers=login(org.secretary_a)).status_code == 403


def test_an_admin_of_a_parent_committee_sees_the_child(client, login, ctx):
    from tests import factories

    parent = factories.committee("集团党委")
    child = factories.committee("子公司党委", parent)
    branch = factories.branch(child, "子一支部")
    admin = factories.member(None, "admin", committee=parent)
    child_admin = factories.member(None, "admin", committee=child)
    assert client.get(f"/api/v1/branches/{branch.id}/members", headers=login(admin)).status_code == 200
    assert client.get(f"/api/v1/committees/{parent.id}/branches", headers=login(child_admin)).status_code == 404


@pytest.mark.parametrize("who, target, status", [
    ("secretary_a", "member_a", 200), ("secretary_a", "member_b", 404), ("secretary_a", "member_a2_branch", 404),
    ("admin_a", "member_a2_branch", 200), ("admin_a", "member_b", 404), ("member_a", "member_a2", 403),
])
def test_member_detail_scope(client, login, org, who, target, status):
    response = client.get(f"/api/v1/members/{getattr(org, target).id}", headers=login(getattr(org, who)))
    assert response.status_code == status


def test_only_admins_change_roles_and_nobody_changes_themself(client, login, org):
    assert client.patch(f"/api/v1/members/{org.member_a.id}", json={"role": "secretary"},
                        headers=login(org.secretary_a)).status_code == 403
    assert client.patch(f"/api/v1/members/{org.admin_a.id}", json={"active": False},
                        headers=login(org.admin_a)).status_code == 403
    assert client.patch(f"/api/v1/members/{org.member_b.id}", json={"active": False},
                        headers=login(org.admin_a)).status_code == 404
    unknown = client.patch(f"/api/v1/members/{org.member_a.id}", json={"branch_id": org.branch_b.id},
                           headers=login(org.admin_a))
    assert unknown.status_code == 422
