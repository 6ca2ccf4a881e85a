"""一键提醒 names its audience first: the preview lists exactly the members the tap then reminds."""
from tests.learning.helpers import publish
from tests.notifications.helpers import rows


def _preview(client, headers, branch, kind):
    response = client.get(f"/api/v1/branches/{branch.id}/reminders?kind={kind}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return {"members": [{"id": m["id"], "name": m["name"]} for m in body["members"] if not m["reminded_today"]],
            "already_reminded": [{"id": m["id"], "name": m["name"]} for m in body["members"] if m["reminded_today"]]}


def test_the_preview_names_exactly_who_the_tap_reminds_then_who_was_reminded(client, org, login, frozen):
    frozen("2026-11-23 09:00")
    secretary = login(org.secretary_a)
    material = publish(client, secretary, day="2026-11-23", minutes=1)
    member = login(org.member_a)
    client.post(f"/api/v1/materials/{material['id']}/reads", headers=member)
    frozen("2026-11-23 09:05")
    finished = client.post(f"/api/v1/materials/{material['id']}/reads/finish", headers=member, json={})
    assert finished.get_json()["completed"] is True

    shown = _preview(client, secretary, org.branch_a, "reading")
    assert sorted(m["id"] for m in shown["members"]) == sorted([org.member_a2.id, org.secretary_a.id])
    assert {m["name"] for m in shown["members"]} == {org.member_a2.name, org.secretary_a.name}
    assert shown["already_reminded"] == []

    tapped = client.post(f"/api/v1/branches/{org.branch_a.id}/reminders", headers=secretary, json={"kind": "reading"})
    assert tapped.get_json()["reminded"] == len(shown["members"])
    assert sorted(r.member_id for r in rows(kind="reminder_reading")) == sorted(m["id"] for m in shown["members"])

    after = _preview(client, secretary, org.branch_a, "reading")
    assert after["members"] == [] and after["already_reminded"] == shown["members"]


def test_the_preview_is_scoped_like_the_reminder(client, org, login):
    url = f"/api/v1/branches/{org.branch_a.id}/reminders"
    assert client.get(url, headers=login(org.secretary_b)).status_code == 404
    assert client.get(url, headers=login(org.member_a)).status_code == 403
    bad = client.get(url + "?kind=everything", headers=login(org.secretary_a))
    assert bad.status_code == 422 and "kind" in bad.get_json()["details"]["fields"]
    assert rows() == []
