"""Build a bank and quizzes for the quiz tests; scan member payloads for leaked answers."""
from core.extensions import db
from quizzes.grading import JUDGE_OPTIONS, stem_key
from quizzes.models import Question

# Explanations and blank answers are unique marker strings, so a leak anywhere in a payload is found.
BANK = [
    ("single", "党的最高理想是什么？", ["实现共产主义", "发展经济", "扩大开放", "改善民生"], "A"),
    ("multiple", "“四个自信”包括哪些？", ["道路自信", "理论自信", "制度自信", "文化自信", "经济自信"],
        ["A", "B", "C", "D"]),
    ("judge", "党员必须履行党员义务。", [], "T"),
    ("blank", "党的一大召开于____年，地点____。", [], [["一九二一年份标记", "1921年份标记"], ["上海标记"]]),
]


def make_question(owner_committee, kind, stem, options, answer, branch=None, explanation=None, tags=",党章,",
                  difficulty=2):
    opts = JUDGE_OPTIONS if kind == "judge" else [{"key": "ABCDEF"[i], "text": t} for i, t in enumerate(options)]
    question = Question(committee_id=owner_committee.id, branch_id=branch.id if branch else None, kind=kind, stem=stem,
                        stem_key=stem_key(stem), options=opts, answer=answer,
                        explanation=explanation or f"解析标记-{stem_key(stem)[:8]}", tags=tags,
                        difficulty=difficulty, source="测试")
    db.session.add(question)
    db.session.commit()
    return question


def make_bank(committee, branch=None):
    return [make_question(committee, *row, branch=branch) for row in BANK]


CORRECT = {"single": "A", "multiple": ["A", "B", "C", "D"], "judge": "T", "blank": ["1921年份标记", "上海标记"]}
WRONG = {"single": "B", "multiple": ["A", "E"], "judge": "F", "blank": ["1922", "北京"]}


def answers_for(questions, right=True, only=None):
    table = CORRECT if right else WRONG
    return {str(q.id): table[q.kind] for q in questions if only is None or q.kind in only}


def secrets_of(questions):
    """Strings that must never reach a member before close."""
    found = set()
    for q in questions:
        found.add(q.explanation)
        if q.kind == "blank":
            found.update(v for blank in q.answer for v in blank)
    return found


FORBIDDEN_KEYS = {"answer", "answer_text", "explanation", "correct", "is_key", "answers_key"}


def assert_no_answers(payload, questions):
    """Fail if a member-facing payload carries an answer field or any answer/explanation text."""
    secrets = secrets_of(questions)

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                assert key not in FORBIDDEN_KEYS, f"answer field {path}.{key} leaked"
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")
        elif isinstance(node, str):
            for secret in secrets:
                assert secret not in node or _own_answer(path), f"answer text leaked at {path}: {node}"

    walk(payload, "$")


def _own_answer(path):
    # The member's own saved answers echo what they typed; that is theirs, not the key.
    return ".answers." in path + "."
