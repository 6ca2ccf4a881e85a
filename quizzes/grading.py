"""Pure rules of the quiz: answer normalising, grading, shuffling, item-analysis flags. No Flask, no database."""
import hashlib
import math
import random
import re
import unicodedata

OPTION_KEYS = "ABCDEF"
JUDGE_OPTIONS = [{"key": "T", "text": "正确"}, {"key": "F", "text": "错误"}]
MAX_BLANK_TEXT = 200


def normalise_text(text):
    """Fold a typed answer so full-width, case and spacing differences don't matter."""
    folded = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return re.sub(r"\s+", "", folded)


def stem_key(stem):
    """A digest of a stem with spacing and punctuation folded, to spot a stem already in the bank."""
    folded = normalise_text(stem)
    folded = re.sub(r"[\W_]+", "", folded)
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()


def choice_of(response):
    """The chosen option keys as one sorted string ('AC'), '' when unanswered."""
    if response is None:
        return ""
    if isinstance(response, str):
        return response
    return "".join(sorted(response))


def is_correct(kind, answer, response):
    """Whether a response earns a question's points: exact option set, or every blank matched."""
    if response is None:
        return False
    if kind in ("single", "judge"):
        return isinstance(response, str) and response == answer
    if kind == "multiple":
        return isinstance(response, list) and sorted(set(response)) == sorted(answer)
    if kind == "blank":
        if not isinstance(response, list) or len(response) != len(answer):
            return False
        return all(normalise_text(given) in {normalise_text(v) for v in variants}
                   for given, variants in zip(response, answer))
    raise ValueError(f"unknown question kind {kind!r}")


def response_problem(kind, option_keys, blanks, response):
    """Why a saved response is malformed for its question, or None (None itself clears an answer)."""
    if response is None:
        return None
    if kind in ("single", "judge"):
        return None if isinstance(response, str) and response in option_keys else "选项不存在"
    if kind == "multiple":
        if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
            return "多选题的答案应为选项列表"
        return None if set(response) <= set(option_keys) and len(set(response)) == len(response) else "选项不存在"
    if kind == "blank":
        if not isinstance(response, list) or len(response) != blanks:
            return f"应填写 {blanks} 个空"
        if not all(isinstance(r, str) and len(r) <= MAX_BLANK_TEXT for r in response):
            return f"每个空应为不超过 {MAX_BLANK_TEXT} 字的文字"
        return None
    return "未知题型"


def shuffled_order(seed, questions):
    """A member's order: questions shuffled, and option keys shuffled within each (true/false keeps 正确/错误)."""
    rng = random.Random(seed)
    order = [{"q": q["id"], "o": [o["key"] for o in q["options"]]} for q in questions]
    rng.shuffle(order)
    kinds = {q["id"]: q["kind"] for q in questions}
    for entry in order:
        if kinds[entry["q"]] in ("single", "multiple"):
            rng.shuffle(entry["o"])
    return order


def tier(score, total, pass_score):
    """The points rule a score earns: full marks, passed, or taken."""
    if total > 0 and score >= total:
        return "quiz_full_marks"
    if score >= pass_score:
        return "quiz_passed"
    return "quiz_taken"


TIER_RANK = {"quiz_taken": 0, "quiz_passed": 1, "quiz_full_marks": 2}


def group_size(n, fraction=0.27):
    """How many takers form the upper (and the lower) group for discrimination."""
    return max(1, math.ceil(n * fraction)) if n else 0


def median(values):
    """The median of a sorted or unsorted list of numbers, or None."""
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def dubious_reasons(facility, discrimination, key, upper_choices):
    """Why an item looks dubious: too hard, too easy, not discriminating, or a distractor beats the key up top."""
    reasons = []
    if facility is not None and facility < 0.2:
        reasons.append("过难")
    if facility is not None and facility > 0.95:
        reasons.append("过易")
    if discrimination is not None and discrimination < 0.2:
        reasons.append("区分度低")
    if key and upper_choices:
        key_count = sum(n for option, n in upper_choices.items() if option in key)
        for option, n in upper_choices.items():
            if option not in key and n > key_count / max(len(key), 1):
                reasons.append(f"高分组多选干扰项 {option}")
                break
    return reasons
