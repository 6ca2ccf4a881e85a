"""Authoring quizzes: create one (by hand or assembled by rules from the bank), edit it, delete it."""
import math
import random
import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from core import audit, clock
from core.db import after_commit, commit_or_conflict, lock_row
from core.errors import Conflict, Forbidden, Invalid
from core.extensions import db
from members.models import Branch, Committee
from members.scope import ancestor_ids, owner_for
from quizzes import definitions
from quizzes.bank import owner_bank_clause
from quizzes.models import Attempt, Question, Quiz, QuizItem
from quizzes.services.visibility import can_edit_quiz

WEEK_RE = re.compile(r"^\d{4}-W\d{2}$")
MAX_QUESTIONS = 100


# --- creating quizzes ------------------------------------------------------------------------------

def create_quiz(actor, data, committee_id=None, branch_id=None):
    """Create one week's quiz for a committee or a branch, by hand (question_ids) or by rules (assembled)."""
    committee, branch = owner_for(actor, committee_id, branch_id)
    week = data.get("week_key") or clock.week_key()
    monday = _week_monday(week)
    start, end = clock.week_bounds(monday)
    opens_at, closes_at = data.get("opens_at") or start, data.get("closes_at") or end
    _check_window(opens_at, closes_at)
    scope_key = f"b:{branch.id}" if branch else f"c:{committee.id}"
    _check_week_free(scope_key, week)
    questions, assembly = _pick_questions(committee, branch, data, monday)
    points = data.get("points_per_question", 10)
    total, pass_score = _scores(points, len(questions), data.get("pass_percent", 60))
    quiz = Quiz(committee_id=committee.id, branch_id=branch.id if branch else None, scope_key=scope_key,
                week_key=week, title=data.get("title") or f"每周一测（{week}）", opens_at=opens_at,
                closes_at=closes_at, time_limit_minutes=data.get("time_limit_minutes", 15),
                max_attempts=data.get("max_attempts", 1), total_score=total, pass_score=pass_score,
                reveal_answers=data.get("reveal_answers", True), assembly=assembly, created_by_id=actor.id)
    quiz.items = [QuizItem(question_id=q.id, position=i + 1, points=points) for i, q in enumerate(questions)]
    db.session.add(quiz)
    _flush_or_week_taken(week)
    audit.record(actor, "quiz.create", "quiz", quiz.id, week_key=week, questions=len(questions),
                 assembled=assembly is not None)
    after_commit(definitions.clear_week, week)
    db.session.commit()
    return quiz


def _week_monday(week):
    """The Monday of a week key, or 422."""
    if not WEEK_RE.match(week):
        raise Invalid.field("周次格式应为 2026-W48", "week_key", "格式不正确")
    try:
        return clock.monday_of_week_key(week)
    except ValueError:
        raise Invalid.field("周次不存在", "week_key", "周次不存在")


def _check_window(opens_at, closes_at):
    """A quiz's window: aware times, closing after it opens and after now."""
    if opens_at.tzinfo is None or closes_at.tzinfo is None:
        raise Invalid.field("时间须带时区", "opens_at", "须带时区")
    if closes_at <= opens_at:
        raise Invalid.field("结束时间须晚于开始时间", "closes_at", "须晚于开始时间")
    if closes_at <= clock.now():
        raise Invalid("不能为已经结束的周次出题", code="week_past")


def _check_week_free(scope_key, week, quiz_id=None):
    taken = select(Quiz.id).where(Quiz.scope_key == scope_key, Quiz.week_key == week)
    if quiz_id is not None:
        taken = taken.where(Quiz.id != quiz_id)
    if db.session.scalar(taken):
        raise Conflict(f"{week} 已有测验", code="quiz_exists")


def _flush_or_week_taken(week):
    # Two writers passed the check at once: the unique (scope_key, week_key) lets one through.
    commit_or_conflict(Conflict(f"{week} 已有测验", code="quiz_exists"), flush=True)


def _pick_questions(committee, branch, data, monday):
    """The questions of a quiz, by hand or assembled by rules from the owner's bank, and the assembly to store."""
    bank = owner_bank_clause(committee, branch)
    if data.get("question_ids"):
        return _hand_picked(data["question_ids"], bank), None
    if data.get("rules"):
        avoid = data.get("avoid_weeks", current_app.config["QUIZ_AVOID_WEEKS"])
        questions = assemble(committee, bank, data["rules"], monday, avoid, data.get("seed"))
        return questions, {"rules": data["rules"], "avoid_weeks": avoid}
    raise Invalid.field("请选择题目或给出组卷规则", "question_ids", "与 rules 二选一")


def _scores(points, count, pass_percent):
    """(total, pass score) of `count` questions worth `points` each."""
    total = points * count
    return total, math.ceil(total * pass_percent / 100)


def _hand_picked(ids, bank):
    if len(ids) != len(set(ids)) or len(ids) > MAX_QUESTIONS:
        raise Invalid.field("题目重复或过多", "question_ids", f"不重复，最多 {MAX_QUESTIONS} 题")
    found = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids), bank,
                                                                         Question.status == "active"))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid("部分题目不存在、已停用或不在本题库中", code="questions_unavailable",
                      details={"question_ids": missing})
    return [found[i] for i in ids]


def assemble(committee, bank, rules, monday, avoid_weeks, seed=None):
    """Draw questions from the bank by rules, skipping questions this committee's quizzes used in the last K weeks."""
    recent = [clock.week_key(monday - timedelta(weeks=k)) for k in range(1, avoid_weeks + 1)]
    used_recently = (select(QuizItem.question_id).join(Quiz, Quiz.id == QuizItem.quiz_id)
                     .where(Quiz.week_key.in_(recent), Quiz.committee_id.in_(ancestor_ids(committee)
                                                                                 + [committee.id])))
    rng = random.Random(seed if seed is not None else f"{committee.id}:{clock.week_key(monday)}")
    picked, shortages = [], []
    for index, rule in enumerate(rules):
        stmt = select(Question.id).where(bank, Question.status == "active", Question.id.not_in(used_recently))
        if rule.get("kind"):
            stmt = stmt.where(Question.kind == rule["kind"])
        if rule.get("tag"):
            stmt = stmt.where(Question.tags.contains(f",{rule['tag']},", autoescape=True))
        if rule.get("difficulty"):
            stmt = stmt.where(Question.difficulty == rule["difficulty"])
        taken = {q.id for q in picked}
        candidates = sorted(i for i in db.session.scalars(stmt) if i not in taken)
        if len(candidates) < rule["count"]:
            shortages.append({"rule": index, "needed": rule["count"], "available": len(candidates)})
            continue
        ids = rng.sample(candidates, rule["count"])
        picked.extend(db.session.scalars(select(Question).where(Question.id.in_(ids))).all())
    if shortages:
        raise Invalid("题库中符合规则的题目不足", code="bank_too_small", details={"shortages": shortages})
    if len(picked) > MAX_QUESTIONS:
        raise Invalid(f"每次测验最多 {MAX_QUESTIONS} 题")
    return picked


def delete_quiz(actor, quiz):
    """Remove a quiz nobody has started yet."""
    if not can_edit_quiz(actor, quiz):
        raise Forbidden("只能删除本支部或本党委的测验")
    if db.session.scalar(select(Attempt.id).where(Attempt.quiz_id == quiz.id).limit(1)):
        raise Conflict("已有党员作答，不能删除", code="quiz_started")
    audit.record(actor, "quiz.delete", "quiz", quiz.id, week_key=quiz.week_key)
    quiz_id, week = quiz.id, quiz.week_key
    db.session.delete(quiz)
    after_commit(definitions.clear_definition, quiz_id, week)
    after_commit(definitions.clear_week, week)
    db.session.commit()


# Once a quiz is open a member may be starting it at any moment, so only what cannot change a result may move.
EDITABLE_WHILE_OPEN = ("title", "closes_at")


def update_quiz(actor, quiz, data):
    """Change a quiz's settings: any before it opens; once open only its title and its close (never to the past)."""
    if not can_edit_quiz(actor, quiz):
        raise Forbidden("只能修改本支部或本党委的测验")
    # The row is locked so two editors, or an edit and a delete, take turns and each checks the latest row.
    quiz = lock_row(Quiz, quiz.id)
    now = clock.now()
    if quiz.closed_at is not None or quiz.phase(now) == "closed":
        raise Conflict("测验已结束，成绩已确定，不能再修改", code="quiz_closed")
    started = db.session.scalar(select(Attempt.id).where(Attempt.quiz_id == quiz.id).limit(1)) is not None
    before = _settings(quiz)
    was_open = quiz.phase(now) == "open"
    if started or was_open:
        _update_open_quiz(quiz, data, before, started, now)
    else:
        _update_upcoming_quiz(quiz, data, before)
    after = _settings(quiz)
    changes = {name: [_audit_value(before[name]), _audit_value(after[name])]
               for name in after if after[name] != before[name]}
    if not changes:
        db.session.rollback()
        return quiz
    details = {}
    if was_open and "closes_at" in changes:
        # Members still to answer must hear of the new close. Queued in this transaction, so an edit that fails
        # tells no one; the only call from quizzes into notifications (before it opens, the announcement carries it).
        # Imported here, not at the top: quizzes sits below notifications, so this one upward call stays local.
        from notifications.services import notify_quiz_close_moved

        details["notified"] = notify_quiz_close_moved(quiz, before["closes_at"])
    audit.record(actor, "quiz.update", "quiz", quiz.id, week_key=quiz.week_key, changes=changes, **details)
    # The member flow reads the cached definition: drop it so the next read sees the new settings.
    after_commit(definitions.clear_definition, quiz.id, quiz.week_key)
    if "week_key" in changes:
        after_commit(definitions.clear_week, before["week_key"])
        after_commit(definitions.clear_week, after["week_key"])
    db.session.commit()
    return quiz


def _settings(quiz):
    """The editable settings of a quiz as plain values, to compare before and after an edit."""
    return {"title": quiz.title, "week_key": quiz.week_key, "opens_at": quiz.opens_at, "closes_at": quiz.closes_at,
            "time_limit_minutes": quiz.time_limit_minutes, "max_attempts": quiz.max_attempts,
            "reveal_answers": quiz.reveal_answers, "question_ids": [item.question_id for item in quiz.items],
            "points_per_question": _points_per_question(quiz), "total_score": quiz.total_score,
            "pass_score": quiz.pass_score, "assembly": quiz.assembly}


def _audit_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _points_per_question(quiz):
    return quiz.items[0].points if quiz.items else 10


def _pass_percent(quiz):
    """The smallest pass percent that gives the quiz's pass score (the percent itself is not stored)."""
    return next((p for p in range(101) if math.ceil(quiz.total_score * p / 100) == quiz.pass_score), 60)


def _update_upcoming_quiz(quiz, data, before):
    """Apply any settings to a quiz nobody can have started, validated as on creation."""
    committee = db.session.get(Committee, quiz.committee_id)
    branch = db.session.get(Branch, quiz.branch_id) if quiz.branch_id else None
    week = data.get("week_key", quiz.week_key)
    monday = _week_monday(week)
    # Moving a quiz to another week moves its window by as many weeks, unless new times are given.
    shift = monday - clock.monday_of_week_key(quiz.week_key)
    opens_at = data.get("opens_at", quiz.opens_at + shift)
    closes_at = data.get("closes_at", quiz.closes_at + shift)
    _check_window(opens_at, closes_at)
    if week != quiz.week_key:
        _check_week_free(quiz.scope_key, week, quiz.id)
    question_ids = before["question_ids"]
    if data.get("rules") or data.get("question_ids") not in (None, question_ids):
        questions, quiz.assembly = _pick_questions(committee, branch, data, monday)
        question_ids = [q.id for q in questions]
    points = data.get("points_per_question", before["points_per_question"])
    percent = data.get("pass_percent", _pass_percent(quiz))
    _set_items(quiz, question_ids, points)
    quiz.total_score, quiz.pass_score = _scores(points, len(question_ids), percent)
    quiz.week_key, quiz.opens_at, quiz.closes_at = week, opens_at, closes_at
    for name in ("title", "time_limit_minutes", "max_attempts", "reveal_answers"):
        if name in data:
            setattr(quiz, name, data[name])
    _flush_or_week_taken(week)


def _set_items(quiz, question_ids, points):
    """Make the quiz's items these questions in this order, each worth `points`; kept questions keep their rows."""
    # Updating kept rows in place (not delete and re-insert) keeps the unique (quiz_id, question_id) happy in one flush.
    kept = {item.question_id: item for item in quiz.items}
    items = []
    for position, question_id in enumerate(question_ids, start=1):
        item = kept.get(question_id) or QuizItem(question_id=question_id)
        item.position, item.points = position, points
        items.append(item)
    quiz.items = items


def _update_open_quiz(quiz, data, before, started, now):
    """Apply a title or a new close to a quiz that is open; anything that could change a result is 409."""
    refused = sorted(name for name in _requested_changes(quiz, data, before) if name not in EDITABLE_WHILE_OPEN)
    if refused:
        message, code = (("已有党员作答，只能修改标题和结束时间", "quiz_started") if started
                         else ("测验已开放，只能修改标题和结束时间", "quiz_open"))
        raise Conflict.fields(message, {name: ["测验开放后不能修改"] for name in refused}, code=code)
    if "title" in data:
        quiz.title = data["title"]
    closes_at = data.get("closes_at", quiz.closes_at)
    if closes_at == quiz.closes_at:
        return
    if closes_at <= now:
        raise Conflict.field("测验进行中，结束时间不能早于现在", "closes_at", "须晚于现在", code="closes_in_past")
    _check_window(quiz.opens_at, closes_at)
    quiz.closes_at = closes_at
    # An attempt never outlasts its quiz: deadlines capped by the old close move with it, either way.
    for attempt in db.session.scalars(select(Attempt).where(Attempt.quiz_id == quiz.id,
                                                            Attempt.status == "in_progress").with_for_update()):
        attempt.deadline_at = min(attempt.started_at + timedelta(minutes=quiz.time_limit_minutes), closes_at)


def _requested_changes(quiz, data, before):
    """The settings a PATCH body would actually change (a field sent with its current value changes nothing)."""
    changed = set()
    for name in ("title", "week_key", "opens_at", "closes_at", "time_limit_minutes", "max_attempts",
                 "reveal_answers", "question_ids", "points_per_question"):
        if name in data and data[name] != before[name]:
            changed.add(name)
    if data.get("rules"):
        changed.add("rules")
    if "pass_percent" in data and _scores(before["points_per_question"], len(before["question_ids"]),
                                          data["pass_percent"])[1] != quiz.pass_score:
        changed.add("pass_percent")
    return changed
