"""The pure 1+4+1 rules: ISBN check digits, book identity, pace, check-in codes."""
from datetime import date

import pytest

from quotas import rules


@pytest.mark.parametrize("raw, expected", [
    ("978-7-111-54742-6", "9787111547426"),
    ("9787111547426", "9787111547426"),
    ("7-111-54742-X", "9787111547426"),      # X as the ISBN-10 check digit
    ("7-111-54742-5", None),                  # wrong ISBN-10 check digit
    ("0-306-40615-2", "9780306406157"),       # ISBN-10 converted to ISBN-13
    ("978 0 306 40615 7", "9780306406157"),
    ("9780306406158", None),                  # wrong ISBN-13 check digit
    ("12345", None),
    ("", None),
])
def test_normalise_isbn(raw, expected):
    assert rules.normalise_isbn(raw) == expected


def test_the_same_book_typed_twice_has_one_key():
    assert rules.book_key("深入理解 计算机系统", "Randal E. Bryant") == rules.book_key("深入理解计算机系统",
                                                                                  "randal e bryant")
    assert rules.book_key("x", "y", "9780306406157") == "isbn:9780306406157"
    assert rules.book_key("深入理解计算机系统", "布莱恩特") != rules.book_key("算法导论", "布莱恩特")


@pytest.mark.parametrize("year, day, months", [
    (2026, date(2026, 1, 15), 0), (2026, date(2026, 1, 31), 1), (2026, date(2026, 9, 30), 9),
    (2026, date(2026, 10, 1), 9), (2026, date(2026, 12, 31), 12), (2025, date(2026, 3, 1), 12),
    (2027, date(2026, 12, 31), 0),
])
def test_months_elapsed(year, day, months):
    assert rules.months_elapsed(year, day) == months


@pytest.mark.parametrize("quota, months, expected", [
    (4, 0, 0), (4, 1, 0), (4, 2, 1), (4, 5, 2), (4, 8, 3), (4, 9, 3), (4, 11, 4), (4, 12, 4),
    (1, 5, 0), (1, 6, 1), (1, 12, 1), (0, 12, 0), (2, 3, 1),
])
def test_expected_by(quota, months, expected):
    assert rules.expected_by(quota, months) == expected


def test_pace_by_the_end_of_september_needs_three_attended():
    policy = {"talks": 1, "attends": 4, "books": 1}
    behind = rules.pace({"talks": 1, "attends": 2, "books": 1}, policy, 2026, date(2026, 9, 30))
    assert behind["status"] == "behind" and behind["items"]["attends"]["expected"] == 3
    assert not behind["items"]["attends"]["on_track"] and behind["items"]["talks"]["on_track"]
    ok = rules.pace({"talks": 1, "attends": 3, "books": 1}, policy, 2026, date(2026, 9, 30))
    assert ok["status"] == "on_track" and not ok["complete"]
    done = rules.pace({"talks": 2, "attends": 4, "books": 1}, policy, 2026, date(2026, 3, 1))
    assert done["status"] == "complete" and done["complete"]


def test_checkin_codes_are_six_digits_and_change_with_the_salt():
    code = rules.checkin_code("secret", 7, "aa")
    assert len(code) == 6 and code.isdigit()
    assert code == rules.checkin_code("secret", 7, "aa")
    assert code != rules.checkin_code("secret", 7, "bb") or code != rules.checkin_code("secret", 8, "aa")
    assert rules.code_matches(code, f" {code} ") and not rules.code_matches(code, "000000" if code != "000000"
                                                                                else "111111")
    assert rules.qr_payload(7, code) == f"bs-checkin:7:{code}"


@pytest.mark.parametrize("text, length", [("读书 心得\n体会", 6), ("", 0), ("  ", 0)])
def test_reflection_length_ignores_whitespace(text, length):
    assert rules.reflection_length(text) == length
