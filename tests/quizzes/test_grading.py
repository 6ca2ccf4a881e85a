"""Pure rules: grading, answer checks, shuffling, tiers and item-analysis flags."""
import pytest

from quizzes import grading


@pytest.mark.parametrize("kind, answer, response, expected", [
    ("single", "A", "A", True),
    ("single", "A", "B", False),
    ("single", "A", None, False),
    ("single", "A", ["A"], False),
    ("multiple", ["A", "C"], ["C", "A"], True),
    ("multiple", ["A", "C"], ["A"], False),
    ("multiple", ["A", "C"], ["A", "B", "C"], False),
    ("judge", "T", "T", True),
    ("judge", "T", "F", False),
    ("blank", [["1921"], ["上海", "上海市"]], ["1921", "上海市"], True),
    ("blank", [["1921"], ["上海"]], [" １９２１ ", "上 海"], True),
    ("blank", [["ABC"]], ["abc"], True),
    ("blank", [["1921"], ["上海"]], ["1921"], False),
    ("blank", [["1921"], ["上海"]], ["1921", "北京"], False),
])
def test_is_correct(kind, answer, response, expected):
    assert grading.is_correct(kind, answer, response) is expected


@pytest.mark.parametrize("kind, keys, blanks, response, ok", [
    ("single", ["A", "B"], 0, "A", True),
    ("single", ["A", "B"], 0, "Z", False),
    ("multiple", ["A", "B", "C"], 0, ["A", "C"], True),
    ("multiple", ["A", "B", "C"], 0, ["A", "A"], False),
    ("multiple", ["A", "B", "C"], 0, "AC", False),
    ("blank", [], 2, ["x", "y"], True),
    ("blank", [], 2, ["x"], False),
    ("blank", [], 1, ["x" * 201], False),
    ("judge", ["T", "F"], 0, None, True),
])
def test_response_problem(kind, keys, blanks, response, ok):
    assert (grading.response_problem(kind, keys, blanks, response) is None) is ok


@pytest.mark.parametrize("score, total, pass_score, rule", [
    (100, 100, 60, "quiz_full_marks"), (60, 100, 60, "quiz_passed"), (59, 100, 60, "quiz_taken"),
    (0, 0, 0, "quiz_passed"),
])
def test_tier(score, total, pass_score, rule):
    assert grading.tier(score, total, pass_score) == rule


def test_shuffle_is_deterministic_per_seed_and_keeps_every_key():
    questions = [{"id": i, "kind": "single", "options": [{"key": k} for k in "ABCD"]} for i in range(1, 9)]
    questions.append({"id": 99, "kind": "judge", "options": [{"key": "T"}, {"key": "F"}]})
    first = grading.shuffled_order("attempt:1", questions)
    assert first == grading.shuffled_order("attempt:1", questions)
    assert first != grading.shuffled_order("attempt:2", questions)
    assert sorted(e["q"] for e in first) == [1, 2, 3, 4, 5, 6, 7, 8, 99]
    assert all(sorted(e["o"]) == list("ABCD") for e in first if e["q"] != 99)
    assert next(e["o"] for e in first if e["q"] == 99) == ["T", "F"]


@pytest.mark.parametrize("facility, discrimination, key, upper, reasons", [
    (0.5, 0.4, "A", {"A": 10, "B": 2}, []),
    (0.1, 0.4, "A", {}, ["过难"]),
    (0.97, 0.4, "A", {}, ["过易"]),
    (0.5, 0.1, "A", {}, ["区分度低"]),
    (0.5, 0.4, "A", {"A": 3, "C": 7}, ["高分组多选干扰项 C"]),
])
def test_dubious_reasons(facility, discrimination, key, upper, reasons):
    assert grading.dubious_reasons(facility, discrimination, key, upper) == reasons


@pytest.mark.parametrize("values, expected", [([], None), ([3], 3), ([5, 1, 3], 3), ([4, 1, 3, 2], 2.5)])
def test_median(values, expected):
    assert grading.median(values) == expected


def test_stem_key_ignores_spacing_and_punctuation():
    assert grading.stem_key("党的最高理想是什么？") == grading.stem_key(" 党的最高理想 是什么?")
    assert grading.stem_key("甲") != grading.stem_key("乙")


@pytest.mark.parametrize("n, k", [(0, 0), (1, 1), (10, 3), (100, 27)])
def test_group_size(n, k):
    assert grading.group_size(n) == k
