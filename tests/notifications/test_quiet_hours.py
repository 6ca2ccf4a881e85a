"""Quiet hours (22:00–07:00 Asia/Shanghai by default) defer a push, never drop it; plus the pure delivery rules."""
from datetime import datetime, time

import pytest

from core import clock
from notifications.models import PENDING, SENT
from notifications.rules import backoff_seconds, parse_hhmm, quiet_until, template_data
from tests.notifications.helpers import consent, queue, rows, send_all

QUIZ_OPEN = "tmpl-quiz-open"


def _ready(client, org, login, fake_wechat, count=1):
    headers = login(org.member_a)
    for _ in range(count):
        consent(client, headers, QUIZ_OPEN)
    fake_wechat.grant_consent(org.member_a.openid, QUIZ_OPEN, count=count)
    return headers


def test_a_push_at_23_00_waits_until_07_00_shanghai(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 23:00")
    _ready(client, org, login, fake_wechat)
    queue(org.member_a)

    send_all()
    [row] = rows()
    assert row.status == PENDING and row.attempts == 0  # a deferral is not a failed attempt
    assert clock.to_local(row.next_attempt_at) == datetime(2026, 11, 24, 7, 0, tzinfo=clock.TZ)
    assert fake_wechat.messages() == []

    frozen("2026-11-24 06:59")
    send_all()
    assert rows()[0].status == PENDING

    frozen("2026-11-24 07:00")
    send_all()
    assert rows()[0].status == SENT and len(fake_wechat.messages()) == 1


def test_just_after_midnight_is_quiet_too(client, org, login, fake_wechat, frozen):
    frozen("2026-11-24 00:30")
    _ready(client, org, login, fake_wechat)
    queue(org.member_a)
    send_all()
    assert clock.to_local(rows()[0].next_attempt_at) == datetime(2026, 11, 24, 7, 0, tzinfo=clock.TZ)


def test_a_members_own_quiet_hours_and_switching_them_off(client, org, login, fake_wechat, frozen):
    frozen("2026-11-23 12:30")
    headers = _ready(client, org, login, fake_wechat, count=2)
    client.put("/api/v1/me/notification-preferences", headers=headers,
               json={"quiet_start": "12:00", "quiet_end": "14:00"})
    queue(org.member_a, period="a")
    send_all()
    assert clock.to_local(rows()[0].next_attempt_at) == datetime(2026, 11, 23, 14, 0, tzinfo=clock.TZ)

    client.put("/api/v1/me/notification-preferences", headers=headers, json={"quiet_hours_enabled": False})
    frozen("2026-11-23 23:30")
    queue(org.member_a, period="b")
    send_all()
    assert [r.status for r in rows()] == [SENT, SENT]  # the deferred one was due again, too


@pytest.mark.parametrize("local, expected", [
    ("2026-11-23 21:59", None),
    ("2026-11-23 22:00", "2026-11-24 07:00"),
    ("2026-11-23 23:59", "2026-11-24 07:00"),
    ("2026-11-24 00:00", "2026-11-24 07:00"),
    ("2026-11-24 06:59", "2026-11-24 07:00"),
    ("2026-11-24 07:00", None),
    ("2026-11-24 12:00", None),
])
def test_quiet_until_wraps_midnight_in_shanghai(local, expected):
    moment = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=clock.TZ)
    until = quiet_until(moment.astimezone(clock.UTC), time(22, 0), time(7, 0))
    want = None if expected is None else datetime.strptime(expected, "%Y-%m-%d %H:%M").replace(tzinfo=clock.TZ)
    assert until == want


@pytest.mark.parametrize("start, end, local, quiet", [
    ("12:00", "14:00", "13:00", True), ("12:00", "14:00", "14:00", False), ("08:00", "08:00", "08:00", False)])
def test_quiet_until_same_day_windows(start, end, local, quiet):
    moment = datetime.strptime("2026-11-23 " + local, "%Y-%m-%d %H:%M").replace(tzinfo=clock.TZ)
    assert (quiet_until(moment, parse_hhmm(start), parse_hhmm(end)) is not None) is quiet


@pytest.mark.parametrize("attempts, seconds", [(1, 30), (2, 60), (3, 120), (6, 960), (20, 3600)])
def test_backoff_doubles_up_to_an_hour(attempts, seconds):
    assert backoff_seconds(attempts, 30) == seconds


@pytest.mark.parametrize("bad", ["7:00", "07-00", "ab:cd", ""])
def test_parse_hhmm_refuses_other_shapes(bad):
    with pytest.raises(ValueError):
        parse_hhmm(bad)


def test_template_data_fits_every_key_and_fills_the_missing():
    now = datetime(2026, 11, 23, 0, 0, tzinfo=clock.UTC)
    keys = {"thing1": "thing", "number2": "number", "phrase3": "phrase", "name4": "name", "time5": "time"}
    data = template_data(keys, {"thing1": "一" * 30, "number2": "38.5分", "phrase3": "成绩已经公布了"}, now)
    assert data == {"thing1": "一" * 19 + "…", "number2": "38.5", "phrase3": "成绩已经公", "name4": "支部",
                    "time5": "2026年11月23日 08:00"}


@pytest.mark.parametrize("value, expected", [
    ("2026-11-23 08:00", "2026年11月23日 08:00"),            # naive: Shanghai wall clock
    ("2026-11-23T00:00:00+00:00", "2026年11月23日 08:00"),   # aware ISO from a JSON payload
    ("2026年11月30日 00:00", "2026年11月30日 00:00"),          # already in WeChat's shape
])
def test_template_times_accept_iso_strings(value, expected):
    now = datetime(2026, 11, 23, 0, 0, tzinfo=clock.UTC)
    assert template_data({"time2": "time"}, {"time2": value}, now) == {"time2": expected}


def test_template_dates_accept_iso_days():
    now = datetime(2026, 11, 23, 0, 0, tzinfo=clock.UTC)
    assert template_data({"date2": "date"}, {"date2": "2026-11-24"}, now) == {"date2": "2026年11月24日"}
