"""The reading kept from its open (learning.services.opened): a finish writes without reading the row when it is
kept, and reads it as before — with the same answer — when it is not, is stale, or Redis is down."""
from datetime import timedelta

from sqlalchemy import func, select

from core.cache import get_redis
from core.extensions import db
from learning.models import PointEntry, Reading
from learning.services import opened
from tests import factories
from tests.factories import local_time
from tests.learning.helpers import publish
from tests.sql import as_a_request_starts, statements


def _open(client, headers, item):
    response = client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _finish(client, headers, item, **body):
    response = client.post(f"/api/v1/materials/{item['id']}/reads/finish", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _reading_sql(client, headers, item, **body):
    """(the finish's answer, its statements on readings)."""
    as_a_request_starts()
    with statements([]) as seen:
        shown = _finish(client, headers, item, **body)
    return shown, [s.split()[0] for s in seen if "readings" in s]


def _kept(member_id, item):
    return get_redis().get(opened._key(member_id, item["id"]))


def _points(member_id):
    return db.session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0))
                             .where(PointEntry.member_id == member_id))


def test_a_finish_after_the_open_reads_no_row_and_answers_as_the_table_would(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=4)  # 120 s needed
    member, mid = login(org.member_a), org.member_a.id
    shown_open = _open(client, member, item)
    assert _kept(mid, item) is not None
    frozen("2026-11-23 08:01")
    shown, sql = _reading_sql(client, member, item)
    assert sql == ["UPDATE"]
    assert shown["opened_at"] == shown_open["opened_at"] and shown["seconds"] == 60 and shown["completed"] is False
    get_redis().delete(opened._key(mid, item["id"]))  # the entry lost: the table answers, the same
    frozen(local_time("2026-11-23 08:01") + timedelta(seconds=30))
    shown, sql = _reading_sql(client, member, item)
    assert sql == ["SELECT", "UPDATE"] and shown["seconds"] == 90 and shown["opened_at"] == shown_open["opened_at"]
    assert _kept(mid, item) is not None  # kept again by that read
    frozen("2026-11-23 08:02")
    shown, sql = _reading_sql(client, member, item)
    assert sql[0] == "UPDATE"  # the completion's flip first: the reading was not read
    assert shown["completed"] is True and shown["points_awarded"] == 1 and shown["seconds"] == 120
    assert db.session.scalar(select(Reading.completed_at)) is not None and _points(mid) == 1


def test_a_completed_reading_is_not_written_again_and_its_entry_is_dropped(client, login, org, frozen):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=1)
    member, mid = login(org.member_a), org.member_a.id
    _open(client, member, item)
    frozen("2026-11-23 08:05")
    assert _finish(client, member, item)["points_awarded"] == 1
    finished_at = db.session.scalar(select(Reading.finished_at))
    frozen("2026-11-23 08:06")
    again, sql = _reading_sql(client, member, item, client_seconds=5)
    assert again["completed"] is True and again["points_awarded"] == 0 and again["seconds"] == 120
    assert sql == ["UPDATE", "SELECT"]  # the kept reading's write matched nothing: read as before
    assert _kept(mid, item) is None  # and no later finish tries it again
    assert _finish(client, member, item)["points_awarded"] == 0
    db.session.expire_all()
    assert db.session.scalar(select(Reading.finished_at)) == finished_at and _points(mid) == 1


def test_an_entry_naming_a_reading_not_theirs_writes_nothing_there(client, login, org, frozen):
    """An entry whose row is gone names an id another reading may hold (SQLite reuses ids): the finish's write
    names the member and the item too, so it touches nothing of the other reading and reads the member's own."""
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=1)
    other = factories.member(org.branch_a, name="另一位同志")
    other_id = other.id
    _open(client, login(other), item)
    member, mid = login(org.member_a), org.member_a.id
    _open(client, member, item)
    theirs = db.session.scalar(select(Reading.id).where(Reading.member_id == other_id))
    key = opened._key(mid, item["id"])
    get_redis().set(key, get_redis().get(key).replace(str(_mine(mid).id) + "|", f"{theirs}|", 1))
    frozen("2026-11-23 08:05")
    shown, sql = _reading_sql(client, member, item)
    assert shown["completed"] is True and shown["points_awarded"] == 1
    assert sql[:3] == ["UPDATE", "SELECT", "UPDATE"]  # the stale entry's flip matched nothing
    db.session.expire_all()
    assert _mine(mid).completed_at is not None
    assert db.session.get(Reading, theirs).completed_at is None and _points(other_id) == 0
    assert _finish(client, member, item)["points_awarded"] == 0 and _points(mid) == 1


def _mine(member_id):
    return db.session.scalar(select(Reading).where(Reading.member_id == member_id))


def test_with_redis_down_a_finish_reads_the_row(client, login, org, frozen, hot_cache):
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), minutes=4)
    member, mid = login(org.member_a), org.member_a.id
    _open(client, member, item)
    hot_cache.down()
    frozen("2026-11-23 08:01")
    shown, sql = _reading_sql(client, member, item)
    assert sql == ["SELECT", "UPDATE"] and shown["seconds"] == 60 and shown["completed"] is False
    frozen("2026-11-23 08:03")
    assert _finish(client, member, item)["points_awarded"] == 1
    hot_cache.back()
    assert _finish(client, member, item)["points_awarded"] == 0 and _points(mid) == 1
