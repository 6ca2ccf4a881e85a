"""The secretary's 一键提醒: only those behind, at most once per member, kind and day; scoped to the branch."""
from core.audit import AuditEntry
from core.extensions import db
from tests.learning.helpers import publish
from tests.notifications.helpers import rows
from tests.notifications.test_jobs import _submit, week_quiz  # noqa: F401  (the fixture)


def _remind(client, headers, branch, kind):
    return client.post(f"/api/v1/branches/{branch.id}/reminders", headers=headers, json={"kind": kind})


def test_reading_reminder_reaches_only_those_behind_and_once_a_day(client, org, login, frozen):
    frozen("2026-11-23 09:00")
    secretary = login(org.secretary_a)
    material = publish(client, secretary, day="2026-11-23", minutes=1)
    frozen("2026-11-23 10:00")
    response = _remind(client, secretary, org.branch_a, "reading")
    assert response.status_code == 200
    assert response.get_json() == {"kind": "reading", "behind": 3, "reminded": 3, "already_reminded": 0}
    assert sorted(r.member_id for r in rows(kind="reminder_reading")) == sorted(
        [org.member_a.id, org.member_a2.id, org.secretary_a.id])

    again = _remind(client, secretary, org.branch_a, "reading").get_json()
    assert again == {"kind": "reading", "behind": 3, "reminded": 0, "already_reminded": 3}

    frozen("2026-11-24 10:00")  # a new day: they may be reminded again
    publish(client, secretary, day="2026-11-24", minutes=1)
    assert _remind(client, secretary, org.branch_a, "reading").get_json()["reminded"] == 3
    assert material["id"]
    assert db.session.scalars(db.select(AuditEntry).where(
        AuditEntry.action == "notifications.branch_reminder")).all()


def test_quiz_reminder_skips_those_who_submitted(client, org, login, frozen, week_quiz):
    frozen("2026-11-24 10:00")
    _submit(client, login(org.member_a), week_quiz)
    body = _remind(client, login(org.secretary_a), org.branch_a, "quiz").get_json()
    assert body == {"kind": "quiz", "behind": 2, "reminded": 2, "already_reminded": 0}
    assert sorted(r.member_id for r in rows(kind="reminder_quiz")) == sorted([org.member_a2.id, org.secretary_a.id])
    assert rows(kind="reminder_quiz")[0].payload["data"]["thing1"] == "第48周测验"


def test_quota_reminder_by_an_admin(client, org, login, frozen):
    frozen("2026-12-05 10:00")
    body = _remind(client, login(org.admin_a), org.branch_a2, "quota").get_json()
    assert body["behind"] == 2 and body["reminded"] == 2
    assert {r.branch_id for r in rows(kind="reminder_quota")} == {org.branch_a2.id}


def test_reminders_are_scoped_and_validated(client, org, login):
    assert _remind(client, login(org.secretary_b), org.branch_a, "reading").status_code == 404
    assert _remind(client, login(org.member_a), org.branch_a, "reading").status_code == 403
    assert _remind(client, login(org.admin_b), org.branch_a, "reading").status_code == 404
    bad = _remind(client, login(org.secretary_a), org.branch_a, "everything")
    assert bad.status_code == 422 and "kind" in bad.get_json()["details"]["fields"]
    assert rows() == []


def _study(client, headers, material, frozen, start, end):
    frozen(start)
    client.post(f"/api/v1/materials/{material['id']}/reads", headers=headers)
    frozen(end)
    assert client.post(f"/api/v1/materials/{material['id']}/reads/finish", json={},
                       headers=headers).get_json()["completed"] is True


def test_the_reading_reminder_reaches_exactly_the_group_it_shows(client, org, login, frozen):
    """Behind = an item due so far this week not studied; the preview lists that group and the POST reminds it."""
    frozen("2026-11-30 07:00")
    secretary = login(org.secretary_a)
    monday = publish(client, secretary, day="2026-11-30", minutes=1, title="周一学习")
    tuesday = publish(client, secretary, day="2026-12-01", minutes=1, title="周二学习")
    publish(client, secretary, day="2026-12-03", minutes=1, title="周四学习")  # not due on Tuesday
    _study(client, login(org.member_a), monday, frozen, "2026-11-30 09:00", "2026-11-30 09:05")
    _study(client, login(org.member_a), tuesday, frozen, "2026-12-01 09:00", "2026-12-01 09:05")
    _study(client, login(org.member_a2), tuesday, frozen, "2026-12-01 09:10", "2026-12-01 09:15")
    frozen("2026-12-01 10:00")
    # 张三 has studied everything due; 李四 skipped Monday's; 钱书记 studied nothing.
    url = f"/api/v1/branches/{org.branch_a.id}/reminders"
    shown = client.get(f"{url}?kind=reading", headers=secretary)
    assert shown.status_code == 200, shown.get_json()
    assert shown.get_json() == {"kind": "reading", "behind": 2, "to_remind": 2, "already_reminded": 0, "members": [
        {"id": org.member_a2.id, "name": "李四", "reminded_today": False},
        {"id": org.secretary_a.id, "name": "钱书记", "reminded_today": False}]}
    response = _remind(client, secretary, org.branch_a, "reading")
    assert response.get_json() == {"kind": "reading", "behind": 2, "reminded": 2, "already_reminded": 0}
    assert sorted(r.member_id for r in rows(kind="reminder_reading")) == sorted(m["id"] for m in
                                                                                shown.get_json()["members"])
    assert rows(kind="reminder_reading")[0].body == "本周的学习材料您还没有学完，请抽空完成。"
    again = client.get(f"{url}?kind=reading", headers=secretary).get_json()
    assert (again["behind"], again["to_remind"], again["already_reminded"]) == (2, 0, 2)
    assert all(m["reminded_today"] for m in again["members"])
    assert client.get(f"{url}?kind=everything", headers=secretary).status_code == 422
    assert client.get(f"{url}?kind=reading", headers=login(org.secretary_b)).status_code == 404
    assert client.get(f"{url}?kind=reading", headers=login(org.member_a)).status_code == 403
