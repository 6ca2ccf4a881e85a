"""The points ledger: idempotent by event key, capped per rule per Asia/Shanghai day, append-only."""
import pytest
from sqlalchemy import func, select

from core.extensions import db
from learning import points
from learning.models import PointEntry


def _total(member):
    return db.session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0))
                             .where(PointEntry.member_id == member.id))


@pytest.mark.parametrize("wanted, cap, already, expected", [
    (1, 6, 0, 1), (1, 6, 5, 1), (1, 6, 6, 0), (3, 8, 6, 2), (5, None, 100, 5), (2, 6, 9, 0),
])
def test_capped_gives_what_the_cap_leaves(wanted, cap, already, expected):
    assert points.capped(wanted, cap, already) == expected


def test_a_retried_event_earns_once(org, frozen):
    frozen("2026-11-23 09:00")
    assert points.award(org.member_a.id, "quiz_passed", "quiz:1:member:%d" % org.member_a.id) == 6
    db.session.commit()
    assert points.award(org.member_a.id, "quiz_passed", "quiz:1:member:%d" % org.member_a.id) == 0
    db.session.commit()
    assert _total(org.member_a) == 6


def test_the_daily_cap_resets_at_midnight_in_shanghai(org, frozen):
    frozen("2026-11-23 23:50")
    awarded = [points.award(org.member_a.id, "material_studied", f"e{i}") for i in range(8)]
    assert awarded == [1] * 6 + [0, 0]
    frozen("2026-11-24 00:05")  # 16:05 UTC, still the 23rd in UTC: the cap follows Shanghai's calendar
    assert points.award(org.member_a.id, "material_studied", "e-next") == 1
    db.session.commit()
    assert _total(org.member_a) == 7
    capped = db.session.scalar(select(PointEntry).where(PointEntry.event_key == "e7"))
    assert capped.points == 0 and capped.meta == {"capped_from": 1}


def test_revoke_appends_a_negative_row_once(org, frozen):
    frozen("2026-11-23 10:00")
    points.award(org.member_a.id, "quota_book_read", "book:9")
    db.session.commit()
    assert points.revoke("book:9") == 5
    assert points.revoke("book:9") == 0
    assert points.revoke("never-earned") == 0
    db.session.commit()
    assert _total(org.member_a) == 0
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 2


def test_ledger_rows_cannot_be_changed(org):
    points.award(org.member_a.id, "quiz_taken", "quiz:2")
    db.session.commit()
    row = db.session.scalar(select(PointEntry))
    row.points = 100
    with pytest.raises(RuntimeError):
        db.session.commit()
    db.session.rollback()


def test_an_unknown_rule_is_a_programming_error(org):
    with pytest.raises(ValueError):
        points.award(org.member_a.id, "no_such_rule", "x")
