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


def test_my_entries_are_newest_first_by_when_earned_with_a_chinese_label_and_a_page(client, login, org, frozen):
    from tests.learning.helpers import publish
    from tests.quotas.conftest import REFLECTION

    frozen("2026-11-23 08:00")
    item = publish(client, login(org.secretary_a), title="学习贯彻全会精神", minutes=1)
    me = login(org.member_a)
    client.post(f"/api/v1/materials/{item['id']}/reads", headers=me)
    frozen("2026-11-23 09:05")
    assert client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=me).get_json()["completed"]
    # Recorded after the reading, earned before it: a talk given last Friday.
    frozen("2026-11-23 10:00")
    talk = client.post("/api/v1/exchanges", headers=login(org.secretary_a), json={
        "title": "微服务架构实践交流", "starts_at": "2026-11-20T14:00:00", "ends_at": "2026-11-20T16:00:00",
        "place": "三楼会议室", "summary": "分享订单系统拆分经验", "speaker_ids": [org.member_a.id]})
    assert talk.status_code == 201, talk.get_json()
    frozen("2026-11-23 11:00")
    book = client.post("/api/v1/me/books", headers=me, json={
        "title": "数据密集型应用系统设计", "author": "Martin Kleppmann", "finished_on": "2026-10-08",
        "reflection": REFLECTION}).get_json()
    assert client.post(f"/api/v1/books/{book['id']}/review", headers=login(org.secretary_a),
                       json={"approve": True}).status_code == 200

    entries = client.get("/api/v1/me/points/entries?per_page=50", headers=me).get_json()["items"]
    assert [(e["label"], e["page"]) for e in entries] == [
        ("阅读书籍《数据密集型应用系统设计》", "pages/quota/index"),
        ("每日学习时长《学习贯彻全会精神》", f"pages/study/reader?id={item['id']}"),
        ("完成每日学习《学习贯彻全会精神》", f"pages/study/reader?id={item['id']}"),
        ("交流发言《微服务架构实践交流》", "pages/quota/index"),
    ]
    times = [e["occurred_at"] for e in entries]
    assert times == sorted(times, reverse=True)
    # Pages of one never overlap nor skip, even where two rows share a moment.
    paged = [e["id"] for n in (1, 2, 3, 4) for e in client.get(
        f"/api/v1/me/points/entries?per_page=1&page={n}", headers=me).get_json()["items"]]
    assert paged == [e["id"] for e in entries]


@pytest.mark.parametrize("rule, amount, meta, label, page", [
    ("quiz_passed", 6, {"quiz_id": 7, "title": "第48周测验"}, "每周一测及格《第48周测验》", "pages/quiz/result?id=7"),
    ("quiz_passed", -6, {"quiz_id": 7, "title": "第48周测验", "upgraded_to": "quiz_full_marks"},
     "按更高档次重新计分：每周一测及格《第48周测验》", "pages/quiz/result?id=7"),
    ("quota_exchange_attended", -3, {"exchange_id": 2, "title": "交流会"}, "撤回：参加交流《交流会》",
     "pages/quota/index"),
    ("quota_book_read", 5, {}, "阅读书籍", None),
])
def test_an_entry_says_what_earned_it(rule, amount, meta, label, page):
    assert points.entry_label(rule, amount, meta) == label and points.entry_page(meta) == page
