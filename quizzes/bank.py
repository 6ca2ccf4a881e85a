"""The question bank: who sees and edits which questions, validation shared by the API and the import."""
import re

from flask import current_app
from sqlalchemy import exists, or_, select

from core import audit, clock
from core.errors import Forbidden, Invalid, NotFound
from core.extensions import db
from core.tables import read_upload, reject_rows, row_error, split_tags
from members.models import Committee
from members.scope import ancestor_ids, can_manage_owned, line_clause, owned_visible_clause, owner_for
from quizzes.grading import JUDGE_OPTIONS, OPTION_KEYS, stem_key
from quizzes.models import DIFFICULTIES, TYPE_LABELS, Question, QuizItem

IMPORT_HEADERS = ("题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "答案", "解析", "标签", "难度",
                  "来源")
IMPORT_REQUIRED = ("题型", "题干", "答案")
KIND_BY_LABEL = {"单选题": "single", "单选": "single", "多选题": "multiple", "多选": "multiple",
                 "判断题": "judge", "判断": "judge", "填空题": "blank", "填空": "blank"}
DIFFICULTY_BY_LABEL = {"易": 1, "简单": 1, "1": 1, "中": 2, "中等": 2, "2": 2, "难": 3, "困难": 3, "3": 3}
JUDGE_BY_TEXT = {"正确": "T", "对": "T", "是": "T", "√": "T", "t": "T", "true": "T",
                 "错误": "F", "错": "F", "否": "F", "×": "F", "f": "F", "false": "F"}
MAX_STEM, MAX_OPTION, MAX_EXPLANATION = 1000, 300, 2000


# --- who sees what -------------------------------------------------------------------------------

def owner_bank_clause(committee, branch=None):
    """Questions an owner's quizzes may draw on: its committee line's shared questions, plus the branch's own."""
    return line_clause(Question, committee, branch)


def visible_clause(member):
    """Questions a secretary or admin may see in the bank (members/scope.py's rule for owned things)."""
    return owned_visible_clause(member, Question)


def can_edit(member, question):
    """Admins edit their subtree's questions; a secretary only their branch's own."""
    return can_manage_owned(member, question)


def question_for(member, question_id, edit=False):
    """Load a question the member may see (and, with edit, change); else 404 or 403."""
    question = db.session.get(Question, question_id)
    if question is None or not db.session.scalar(select(exists().where(Question.id == question_id,
                                                                       visible_clause(member)))):
        raise NotFound("题目不存在")
    if edit and not can_edit(member, question):
        raise Forbidden("只能修改本支部（或本党委管理范围内）的题目")
    return question


def list_questions(member, kind=None, tag=None, difficulty=None, status="active", q=None, branch_id=None):
    """A select of bank questions visible to the member, filtered."""
    stmt = select(Question).where(visible_clause(member))
    if kind:
        stmt = stmt.where(Question.kind == kind)
    if tag:
        stmt = stmt.where(Question.tags.contains(f",{tag},", autoescape=True))
    if difficulty:
        stmt = stmt.where(Question.difficulty == difficulty)
    if status:
        stmt = stmt.where(Question.status == status)
    if q:
        stmt = stmt.where(Question.stem.contains(q.strip(), autoescape=True))
    if branch_id:
        stmt = stmt.where(Question.branch_id == branch_id)
    return stmt.order_by(Question.id.desc())


# --- validation shared by the API and the import ------------------------------------------------

def parse_question(kind_text, stem, options, answer_text, explanation="", tags="", difficulty="", source="",
                   kind=None):
    """Validate one question in template form; return (fields, {column: reason})."""
    errors = {}
    kind = kind or KIND_BY_LABEL.get((kind_text or "").strip())
    if kind is None:
        errors["题型"] = "题型应为 单选题、多选题、判断题 或 填空题"
    stem = (stem or "").strip()
    if not stem:
        errors["题干"] = "题干不能为空"
    elif len(stem) > MAX_STEM:
        errors["题干"] = f"题干不能超过 {MAX_STEM} 字"
    option_list = _parse_options(kind, options, errors)
    answer, reason = _parse_answer(kind, (answer_text or "").strip(), [o["key"] for o in option_list])
    if reason and kind:
        errors["答案"] = reason
    explanation = (explanation or "").strip()
    if len(explanation) > MAX_EXPLANATION:
        errors["解析"] = f"解析不能超过 {MAX_EXPLANATION} 字"
    tag_list = _parse_tags(tags)
    if len("," + ",".join(tag_list) + ",") > 255 or any(len(t) > 20 for t in tag_list):
        errors["标签"] = "标签过多或过长（每个不超过 20 字）"
    level = DIFFICULTY_BY_LABEL.get(str(difficulty or "中").strip())
    if level is None:
        errors["难度"] = "难度应为 易、中 或 难"
    source = (source or "").strip()
    if len(source) > 200:
        errors["来源"] = "来源不能超过 200 字"
    fields = {"kind": kind, "stem": stem, "stem_key": stem_key(stem), "options": option_list, "answer": answer,
              "explanation": explanation, "tags": ("," + ",".join(tag_list) + ",") if tag_list else "",
              "difficulty": level, "source": source}
    return fields, errors


def _parse_options(kind, options, errors):
    """The options of a question of `kind` as [{key, text}]; a reason under errors["选项"] when they do not fit."""
    texts = [(o or "").strip() for o in options]
    while texts and not texts[-1]:
        texts.pop()
    option_list = []
    if kind in ("single", "multiple"):
        if len(texts) < 2 or "" in texts:
            errors["选项"] = "选择题至少需要 2 个连续的选项（从选项A开始）"
        elif any(len(t) > MAX_OPTION for t in texts):
            errors["选项"] = f"每个选项不能超过 {MAX_OPTION} 字"
        elif len(set(texts)) != len(texts):
            errors["选项"] = "选项内容重复"
        option_list = [{"key": OPTION_KEYS[i], "text": t} for i, t in enumerate(texts[:len(OPTION_KEYS)])]
    elif kind in ("judge", "blank") and texts:
        errors["选项"] = "判断题和填空题不填选项"
    if kind == "judge":
        option_list = list(JUDGE_OPTIONS)
    return option_list


def _parse_tags(tags):
    if isinstance(tags, (list, tuple)):
        raw = [str(t) for t in tags]
    else:
        raw = split_tags(tags)
    seen = []
    for tag in (t.strip() for t in raw):
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def _parse_answer(kind, text, keys):
    if not text:
        return None, "答案不能为空"
    if kind == "single":
        key = text.upper()
        return (key, None) if key in keys else (None, "单选题答案应为一个已有选项的字母")
    if kind == "multiple":
        picked = sorted(set(re.sub(r"[\s,，、]", "", text.upper())))
        if len(picked) < 2 or not set(picked) <= set(keys):
            return None, "多选题答案应为两个或以上已有选项的字母，如 ACD"
        return picked, None
    if kind == "judge":
        key = JUDGE_BY_TEXT.get(text.lower())
        return (key, None) if key else (None, "判断题答案应为 正确 或 错误")
    if kind == "blank":
        blanks = [[v.strip() for v in part.split("|") if v.strip()] for part in re.split(r"[;；]", text)]
        if not blanks or any(not b for b in blanks):
            return None, "填空题答案：各空用 ; 分隔，同一空的多个可接受答案用 | 分隔，不能有空的空"
        if len(blanks) > 10 or any(len(v) > 200 for b in blanks for v in b):
            return None, "填空题最多 10 个空，每个答案不超过 200 字"
        return blanks, None
    return None, "题型无效"


def answer_text(question):
    """A question's answer written the way the import template writes it."""
    if question.kind == "single":
        return question.answer
    if question.kind == "multiple":
        return "".join(question.answer)
    if question.kind == "judge":
        return "正确" if question.answer == "T" else "错误"
    return ";".join("|".join(v) for v in question.answer)


# --- the verbs ------------------------------------------------------------------------------------

def _duplicates(committee, keys):
    """Stem keys already active in the owner's bank (its committee line and the committee's subtree)."""
    subtree = select(Committee.id).where(Committee.path.like(committee.path + "%"))
    found = set()
    keys = list(keys)
    for start in range(0, len(keys), 1000):
        found.update(db.session.scalars(select(Question.stem_key).where(
            Question.stem_key.in_(keys[start:start + 1000]), Question.status == "active",
            or_(Question.committee_id.in_(ancestor_ids(committee)), Question.committee_id.in_(subtree)))))
    return found


def create_question(actor, data):
    """Add a question to a committee's or a branch's bank."""
    committee, branch = owner_for(actor, data.get("committee_id"), data.get("branch_id"))
    fields = _validated(data)
    if _duplicates(committee, [fields["stem_key"]]):
        raise Invalid.field("题库中已有相同题干的题目", "stem", "题干重复", code="duplicate_stem")
    question = Question(committee_id=committee.id, branch_id=branch.id if branch else None, created_by_id=actor.id,
                        **fields)
    db.session.add(question)
    db.session.flush()
    audit.record(actor, "question.create", "question", question.id, kind=question.kind)
    db.session.commit()
    return question


def _validated(data, base=None):
    kind = data.get("kind", base.kind if base else None)
    options = data.get("options", [o["text"] for o in base.options] if base and base.kind != "judge" else [])
    fields, errors = parse_question(
        None, data.get("stem", base.stem if base else ""), options,
        data.get("answer", answer_text(base) if base else ""),
        data.get("explanation", base.explanation if base else ""),
        data.get("tags", base.tag_list if base else []), str(data.get("difficulty", base.difficulty if base else 2)),
        data.get("source", base.source if base else ""), kind=kind)
    if errors:
        names = {"题型": "kind", "题干": "stem", "选项": "options", "答案": "answer", "解析": "explanation",
                 "标签": "tags", "难度": "difficulty", "来源": "source"}
        raise Invalid.fields("题目内容不合法", {names[k]: [v] for k, v in errors.items()})
    return fields


def is_used(question):
    return db.session.scalar(select(exists().where(QuizItem.question_id == question.id)))


def update_question(actor, question, data):
    """Edit a question; one already used in a quiz is retired and replaced by a new version instead."""
    if question.status != "active":
        raise Invalid("已停用的题目不能修改", code="question_retired")
    fields = _validated(data, base=question)
    if fields["stem_key"] != question.stem_key and _duplicates(question_committee(question), [fields["stem_key"]]):
        raise Invalid.field("题库中已有相同题干的题目", "stem", "题干重复", code="duplicate_stem")
    if is_used(question):
        successor = Question(committee_id=question.committee_id, branch_id=question.branch_id,
                             created_by_id=actor.id, **fields)
        db.session.add(successor)
        db.session.flush()
        question.status, question.retired_at, question.replaced_by_id = "retired", clock.now(), successor.id
        audit.record(actor, "question.revise", "question", question.id, replaced_by=successor.id)
        db.session.commit()
        return successor
    for name, value in fields.items():
        setattr(question, name, value)
    audit.record(actor, "question.update", "question", question.id)
    db.session.commit()
    return question


def question_committee(question):
    return db.session.get(Committee, question.committee_id)


def retire_question(actor, question):
    """Take a question out of the bank; quizzes that used it keep it."""
    if question.status != "retired":
        question.status, question.retired_at = "retired", clock.now()
        audit.record(actor, "question.retire", "question", question.id)
        db.session.commit()
    return question


def import_questions(actor, file_storage, committee, branch=None):
    """Validate a whole CSV/XLSX question file, then add every row or none."""
    rows = read_upload(file_storage, IMPORT_HEADERS, IMPORT_REQUIRED, current_app.config["IMPORT_MAX_ROWS"])
    errors, parsed, seen = [], [], {}
    for number, row in rows:
        fields, problems = parse_question(
            row.get("题型"), row.get("题干"), [row.get(f"选项{k}", "") for k in OPTION_KEYS], row.get("答案"),
            row.get("解析", ""), row.get("标签", ""), row.get("难度", ""), row.get("来源", ""))
        for column, reason in problems.items():
            errors.append(row_error(number, "选项A" if column == "选项" else column, reason))
        if "题干" not in problems:
            if fields["stem_key"] in seen:
                errors.append(row_error(number, "题干", f"与第 {seen[fields['stem_key']]} 行的题干重复"))
            else:
                seen[fields["stem_key"]] = number
        if not problems:
            parsed.append((number, fields))
    for key in _duplicates(committee, seen):
        errors.append(row_error(seen[key], "题干", "题库中已有相同题干的题目"))
    if errors:
        reject_rows(sorted(errors, key=lambda e: e["row"]))
    db.session.add_all([Question(committee_id=committee.id, branch_id=branch.id if branch else None,
                                 created_by_id=actor.id, **fields) for _, fields in parsed])
    result = {"created": len(parsed), "by_kind": {TYPE_LABELS[k]: sum(1 for _, f in parsed if f["kind"] == k)
                                                  for k in TYPE_LABELS}}
    audit.record(actor, "question.import", "branch" if branch else "committee", (branch or committee).id,
                 filename=file_storage.filename, created=len(parsed))
    db.session.commit()
    return result


def template_rows():
    """Example rows for the downloadable import template."""
    return [
        ["单选题", "中国共产党的最高理想和最终目标是什么？", "实现共产主义", "全面建成小康社会", "实现中华民族伟大复兴",
         "建设社会主义现代化强国", "", "", "A", "党章总纲明确规定。", "党章", "易", "《中国共产党章程》"],
        ["多选题", "“四个意识”包括哪些？", "政治意识", "大局意识", "核心意识", "看齐意识", "", "", "ABCD",
         "", "理论", "中", "党的十八届六中全会"],
        ["判断题", "党员有权对党的决议和政策提出建议。", "", "", "", "", "", "",
            "正确", "党员权利之一。", "党章", "易", ""],
        ["填空题", "中国共产党第一次全国代表大会于____年召开，地点在____。", "", "", "", "", "", "", "1921;上海|嘉兴",
         "一大在上海开幕，后转至嘉兴南湖。", "党史", "中", "《中国共产党简史》"],
    ]


__all__ = ["IMPORT_HEADERS", "DIFFICULTIES", "list_questions", "question_for", "create_question", "update_question",
           "retire_question", "import_questions", "owner_bank_clause", "answer_text"]
