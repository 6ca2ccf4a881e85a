"""The verbs of the weekly quiz: create and assemble quizzes, start, autosave and submit attempts, close weeks.

The question bank's verbs live in quizzes/bank.py. Services own their transactions.
"""
import math
import random
import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from core import audit, clock
from core.db import dialect_insert
from core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from members.models import Branch, Committee
from members.scope import in_committee_subtree
from quizzes import audience, definitions, grading
from quizzes.audience import audience_branch_ids, grace
from quizzes.bank import ancestor_ids, owner_bank_clause, resolve_owner
from quizzes.models import Attempt, AttemptAnswer, Question, Quiz, QuizItem, QuizResult

WEEK_RE = re.compile(r"^\d{4}-W\d{2}$")
MAX_QUESTIONS = 100


# --- creating quizzes ------------------------------------------------------------------------------

def create_quiz(actor, data, committee_id=None, branch_id=None):
    """Create one week's quiz for a committee or a branch, by hand (question_ids) or by rules (assembled)."""
    committee, branch = resolve_owner(actor, committee_id, branch_id)
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
    db.session.commit()
    definitions.clear_week(week)
    return quiz


def _week_monday(week):
    """The Monday of a week key, or 422."""
    if not WEEK_RE.match(week):
        raise Invalid("周次格式应为 2026-W48", details={"fields": {"week_key": ["格式不正确"]}})
    try:
        return clock.monday_of_week_key(week)
    except ValueError:
        raise Invalid("周次不存在", details={"fields": {"week_key": ["周次不存在"]}})


def _check_window(opens_at, closes_at):
    """A quiz's window: aware times, closing after it opens and after now."""
    if opens_at.tzinfo is None or closes_at.tzinfo is None:
        raise Invalid("时间须带时区", details={"fields": {"opens_at": ["须带时区"]}})
    if closes_at <= opens_at:
        raise Invalid("结束时间须晚于开始时间", details={"fields": {"closes_at": ["须晚于开始时间"]}})
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
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"{week} 已有测验", code="quiz_exists")


def _pick_questions(committee, branch, data, monday):
    """The questions of a quiz, by hand or assembled by rules from the owner's bank, and the assembly to store."""
    bank = owner_bank_clause(committee, branch)
    if data.get("question_ids"):
        return _hand_picked(data["question_ids"], bank), None
    if data.get("rules"):
        avoid = data.get("avoid_weeks", current_app.config["QUIZ_AVOID_WEEKS"])
        questions = assemble(committee, bank, data["rules"], monday, avoid, data.get("seed"))
        return questions, {"rules": data["rules"], "avoid_weeks": avoid}
    raise Invalid("请选择题目或给出组卷规则", details={"fields": {"question_ids": ["与 rules 二选一"]}})


def _scores(points, count, pass_percent):
    """(total, pass score) of `count` questions worth `points` each."""
    total = points * count
    return total, math.ceil(total * pass_percent / 100)


def _hand_picked(ids, bank):
    if len(ids) != len(set(ids)) or len(ids) > MAX_QUESTIONS:
        raise Invalid("题目重复或过多", details={"fields": {"question_ids": [f"不重复，最多 {MAX_QUESTIONS} 题"]}})
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
    db.session.commit()
    definitions.clear_definition(quiz_id)
    definitions.clear_week(week)


# Once a quiz is open a member may be starting it at any moment, so only what cannot change a result may move.
EDITABLE_WHILE_OPEN = ("title", "closes_at")


def update_quiz(actor, quiz, data):
    """Change a quiz's settings: any before it opens; once open only its title and its close (never to the past)."""
    if not can_edit_quiz(actor, quiz):
        raise Forbidden("只能修改本支部或本党委的测验")
    # The row is locked so two editors, or an edit and a delete, take turns and each checks the latest row.
    quiz = db.session.scalar(select(Quiz).where(Quiz.id == quiz.id).with_for_update()
                             .execution_options(populate_existing=True))
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
        from notifications.services import notify_quiz_close_moved

        details["notified"] = notify_quiz_close_moved(quiz, before["closes_at"])
    audit.record(actor, "quiz.update", "quiz", quiz.id, week_key=quiz.week_key, changes=changes, **details)
    db.session.commit()
    # The member flow reads the cached definition: drop it so the next read sees the new settings.
    definitions.clear_definition(quiz.id)
    if "week_key" in changes:
        definitions.clear_week(before["week_key"])
        definitions.clear_week(after["week_key"])
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
        raise Conflict(message, code=code, details={"fields": {name: ["测验开放后不能修改"] for name in refused}})
    if "title" in data:
        quiz.title = data["title"]
    closes_at = data.get("closes_at", quiz.closes_at)
    if closes_at == quiz.closes_at:
        return
    if closes_at <= now:
        raise Conflict("测验进行中，结束时间不能早于现在", code="closes_in_past",
                       details={"fields": {"closes_at": ["须晚于现在"]}})
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


# --- audiences and visibility ----------------------------------------------------------------------

def quiz_for_member(member, week=None):
    """The quiz a member takes in a week: their branch's own, else the nearest committee's; or None."""
    if not member.branch_id:
        return None
    return quiz_for_branch(db.session.get(Branch, member.branch_id), week)


def quiz_for_branch(branch, week=None):
    """The quiz a branch's members take in a week: the branch's own, else the nearest committee's; or None."""
    quiz_id = audience.quiz_id_for_branch(branch.id, week or clock.week_key())
    return db.session.get(Quiz, quiz_id) if quiz_id is not None else None


def _member_can_see(member, quiz):
    if not member.branch_id:
        return False
    if quiz.branch_id is not None:
        return quiz.branch_id == member.branch_id
    branch = db.session.get(Branch, member.branch_id)
    return quiz.committee_id in ancestor_ids(branch.committee)


def quiz_for_taker(member, quiz_id):
    """The definition of a quiz a member may take: 404 if not theirs to see, 403 if not in its audience."""
    quiz = definitions.get_definition(quiz_id)
    if quiz is None:
        raise NotFound("测验不存在")
    if audience.takes_quiz(member, quiz):
        return quiz
    # Not this member's quiz: tell "not yours to see" (404) from "a deeper quiz is yours" or "you manage it" (403).
    row = db.session.get(Quiz, quiz_id)
    if not _member_can_see(member, row):
        raise NotFound("测验不存在")
    if audience.is_quiz_manager(member, row):
        raise AppError("你管理本测验、可查看答案，因此不参加作答，也不计入统计", code="not_in_audience", status=403)
    raise AppError("本测验不面向你所在的支部", code="not_in_audience", status=403)


def can_manage_quiz(member, quiz):
    """Secretaries see quizzes for their branch; admins quizzes of their subtree or of a committee above them."""
    if member.role == "admin":
        if in_committee_subtree(member, quiz.committee_id):
            return True
        own = db.session.get(Committee, member.committee_id)
        return quiz.branch_id is None and quiz.committee_id in ancestor_ids(own)
    if member.role == "secretary":
        return _member_can_see(member, quiz)
    return False


def can_edit_quiz(member, quiz):
    """Whether a member manages the quiz: edits it, reads its answers at any time, and is not in its audience."""
    return audience.is_quiz_manager(member, quiz)


def quiz_for_manager(member, quiz_id):
    """Load a quiz a secretary or admin may see; else 404."""
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or not can_manage_quiz(member, quiz):
        raise NotFound("测验不存在")
    return quiz


def scoped_branch_ids(member, quiz):
    """A select of the quiz's audience branches the member manages."""
    from members.scope import managed_branch_ids

    return audience_branch_ids(quiz).where(Branch.id.in_(managed_branch_ids(member)))


def list_quizzes(member, week=None):
    """A select of quizzes a secretary or admin may see, newest week first."""
    if member.role == "admin":
        own = db.session.get(Committee, member.committee_id)
        subtree = select(Committee.id).where(Committee.path.like(own.path + "%"))
        clause = or_(Quiz.committee_id.in_(subtree),
                     and_(Quiz.branch_id.is_(None), Quiz.committee_id.in_(ancestor_ids(own))))
    else:
        branch = db.session.get(Branch, member.branch_id)
        clause = or_(Quiz.branch_id == branch.id,
                     and_(Quiz.branch_id.is_(None), Quiz.committee_id.in_(ancestor_ids(branch.committee))))
    stmt = select(Quiz).where(clause)
    if week:
        stmt = stmt.where(Quiz.week_key == week)
    return stmt.order_by(Quiz.week_key.desc(), Quiz.id.desc())


# --- the member's week -----------------------------------------------------------------------------

def current_state(member):
    """This member's quiz this week and where they are in it (reads only; an expired attempt is graded first)."""
    now = clock.now()
    week = clock.week_key()
    state = {"week_key": week, "quiz": None, "phase": None, "state": "none", "attempts_used": 0,
             "attempts_left": 0, "attempt": None, "result": None}
    quiz_id = definitions.quiz_id_for_branch(member.branch_id, week) if member.branch_id else None
    if quiz_id is None:
        return state
    quiz = definitions.get_definition(quiz_id)
    if audience.is_quiz_manager(member, quiz):  # its managers read its answers, so they do not take it
        return state
    attempts, result = _week_rows(quiz.id, member.id)
    in_progress = next((a for a in attempts if a.status == "in_progress"), None)
    if in_progress is not None and in_progress.deadline_at < now - grace():
        # Time ran out while the phone was away: grade it now, so the state shown is the final one.
        _grade_expired(member.id, quiz, now)
        db.session.commit()
        attempts, result = _week_rows(quiz.id, member.id)
        in_progress = next((a for a in attempts if a.status == "in_progress"), None)
    used = len(attempts)
    phase = quiz.phase(now)
    if in_progress:
        label = "in_progress"
    elif phase == "upcoming":
        label = "upcoming"
    elif phase == "closed":
        label = "closed" if result is None else "submitted"
    else:
        label = "submitted" if result is not None else "not_started"
    state.update(quiz=quiz, phase=phase, state=label, attempts_used=used, attempt=in_progress, result=result,
                 attempts_left=max(0, quiz.max_attempts - used) if phase == "open" else 0)
    return state


def _week_rows(quiz_id, member_id):
    """One query: the member's attempts at a quiz and their counted result (or None)."""
    rows = db.session.execute(
        select(Attempt.id, Attempt.status, Attempt.deadline_at, QuizResult.score, QuizResult.passed,
               QuizResult.attempts, QuizResult.submitted_at)
        .outerjoin(QuizResult, and_(QuizResult.quiz_id == Attempt.quiz_id, QuizResult.member_id == Attempt.member_id))
        .where(Attempt.quiz_id == quiz_id, Attempt.member_id == member_id).order_by(Attempt.number)).all()
    result = None
    if rows and rows[0].score is not None:
        first = rows[0]
        result = {"score": first.score, "passed": first.passed, "attempts": first.attempts,
                  "submitted_at": first.submitted_at}
    return rows, result


def order_seed(quiz_id, member_id, number):
    """The seed of an attempt's shuffle: unique per attempt and known before the row is written."""
    return f"attempt:{quiz_id}:{member_id}:{number}"


def start_attempt(member, quiz_id):
    """Start an attempt, or return the one in progress (a resume after a lost connection): → (attempt, started)."""
    now = clock.now()
    quiz = quiz_for_taker(member, quiz_id)
    attempts = db.session.scalars(select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.member_id == member.id)
                                  .order_by(Attempt.number)).all()
    current = next((a for a in attempts if a.status == "in_progress"), None)
    if current is not None and current.deadline_at < now - grace():
        _grade_expired(member.id, quiz, now)
        db.session.commit()
        current = None
    if current is not None:
        return current, False
    phase = quiz.phase(now)
    if phase == "upcoming":
        raise Conflict(f"测验尚未开始，{clock.format_cn(quiz.opens_at)} 开始", code="quiz_not_open")
    if phase == "closed":
        raise Conflict("测验已结束", code="quiz_closed")
    used = len(attempts)
    if used >= quiz.max_attempts:
        raise Conflict("作答次数已用完", code="no_attempts_left", details={"max_attempts": quiz.max_attempts})
    deadline = min(now + timedelta(minutes=quiz.time_limit_minutes), quiz.closes_at)
    questions = [{"id": item.question_id, "kind": item.question.kind, "options": item.question.options}
                 for item in quiz.items]
    attempt = Attempt(quiz_id=quiz.id, member_id=member.id, branch_id=member.branch_id, number=used + 1,
                      order=grading.shuffled_order(order_seed(quiz.id, member.id, used + 1), questions),
                      answers={}, started_at=now, deadline_at=deadline)
    db.session.add(attempt)
    try:
        _commit_keeping(attempt)
    except IntegrityError:
        # The phone retried while the first request was still running: hand back that attempt.
        db.session.rollback()
        current = _in_progress(quiz.id, member.id)
        if current is None:
            raise Conflict("作答次数已用完", code="no_attempts_left")
        return current, False
    return attempt, True


def _commit_keeping(attempt):
    """Commit, keeping the attempt's values for the response (a commit would expire them: one more SELECT)."""
    db.session.flush()
    db.session.expunge(attempt)
    db.session.commit()


def _in_progress(quiz_id, member_id):
    return db.session.scalar(select(Attempt).where(Attempt.quiz_id == quiz_id, Attempt.member_id == member_id,
                                                   Attempt.status == "in_progress"))


def attempt_for(member, attempt_id, lock=False):
    """Load the member's own attempt (locked for update when asked); anyone else's is 404."""
    stmt = select(Attempt).where(Attempt.id == attempt_id, Attempt.member_id == member.id)
    if lock:
        stmt = stmt.with_for_update()
    attempt = db.session.scalar(stmt)
    if attempt is None:
        raise NotFound("作答记录不存在")
    return attempt


def _deadline(attempt, quiz):
    """When an attempt's time is up: its deadline, and never after its quiz's (possibly moved) close."""
    # A close moved earlier re-caps deadlines in the same transaction; this also covers an attempt started
    # from a definition read just before that edit.
    return min(attempt.deadline_at, quiz.closes_at)


def save_answers(member, attempt_id, answers):
    """Autosave: merge answers into the attempt in progress; returns the attempt with its time left."""
    now = clock.now()
    attempt = attempt_for(member, attempt_id, lock=True)
    if attempt.status != "in_progress":
        raise Conflict("本次作答已提交", code="attempt_submitted")
    quiz = definitions.get_definition(attempt.quiz_id)
    if now > _deadline(attempt, quiz) + grace():
        grade_attempt(attempt, quiz, now)
        db.session.commit()
        raise Conflict("作答时间已到，已按保存的答案评分", code="attempt_expired")
    _merge(attempt, quiz, answers)
    attempt.saved_at = now
    _commit_keeping(attempt)
    return attempt


def _merge(attempt, quiz, answers):
    entries = {str(e["q"]): e for e in attempt.order}
    problems = {}
    for qid, response in answers.items():
        entry = entries.get(str(qid))
        if entry is None:
            problems[str(qid)] = ["题目不在本次测验中"]
            continue
        question = quiz.questions[entry["q"]]
        blanks = len(question.answer) if question.kind == "blank" else 0
        reason = grading.response_problem(question.kind, entry["o"], blanks, response)
        if reason:
            problems[str(qid)] = [reason]
    if problems:
        raise Invalid("答案格式不正确", code="invalid_answers", details={"fields": problems})
    merged = dict(attempt.answers or {})
    merged.update({str(k): v for k, v in answers.items()})
    attempt.answers = merged


def submit_attempt(member, attempt_id, answers=None):
    """Grade an attempt once: a repeat or concurrent submit returns the same result; late ones grade what was saved."""
    now = clock.now()
    attempt = attempt_for(member, attempt_id, lock=True)
    if attempt.status == "submitted":  # a retry: answered from the row it waited for, not read again
        _commit_keeping(attempt)
        return attempt
    quiz = definitions.get_definition(attempt.quiz_id)
    if answers and now <= _deadline(attempt, quiz) + grace():
        _merge(attempt, quiz, answers)
        attempt.saved_at = now
    grade_attempt(attempt, quiz, now)
    _commit_keeping(attempt)
    return attempt


def grade_attempt(attempt, quiz, now):
    """Grade a locked in-progress attempt from its saved answers and fold it into the member's result.

    `quiz` is a Quiz or its cached definition (quizzes.definitions): both carry the items and questions.
    """
    late = now > attempt.deadline_at + grace()
    answers = attempt.answers or {}
    score = correct_count = 0
    rows = []
    for item in quiz.items:
        question = item.question
        response = answers.get(str(question.id))
        correct = grading.is_correct(question.kind, question.answer, response)
        earned = item.points if correct else 0
        score += earned
        correct_count += correct
        rows.append({"attempt_id": attempt.id, "quiz_id": quiz.id, "question_id": question.id, "correct": correct,
                     "points": earned, "choice": None if question.kind == "blank"
                     else grading.choice_of(response)[:32]})
    attempt.status, attempt.score, attempt.correct_count = "submitted", score, correct_count
    attempt.late, attempt.submitted_at = late, min(now, attempt.deadline_at + grace()) if late else now
    db.session.flush()
    if rows:  # one executemany, no ORM objects: nothing reads them back in this request
        db.session.execute(AttemptAnswer.__table__.insert(), rows)
    _record_result(attempt, quiz)


def _record_result(attempt, quiz):
    passed = attempt.score >= quiz.pass_score
    rule = grading.tier(attempt.score, quiz.total_score, quiz.pass_score)
    # The first submit (nearly every one) is a single INSERT; a later attempt finds the row and locks it.
    inserted = db.session.execute(dialect_insert(QuizResult).values(
        quiz_id=quiz.id, member_id=attempt.member_id, branch_id=attempt.branch_id, attempt_id=attempt.id,
        score=attempt.score, passed=passed, attempts=1, submitted_at=attempt.submitted_at, points_rule=rule)
        .on_conflict_do_nothing(index_elements=["quiz_id", "member_id"]).returning(QuizResult.id)).first()
    if inserted is not None:
        _give_points(attempt.member_id, quiz, rule, attempt.score, attempt.submitted_at)
        return
    result = db.session.scalar(select(QuizResult).where(QuizResult.quiz_id == quiz.id,
                                                        QuizResult.member_id == attempt.member_id).with_for_update())
    result.attempts += 1
    if attempt.score > result.score:
        result.attempt_id, result.score = attempt.id, attempt.score
        result.passed, result.submitted_at = passed, attempt.submitted_at
    db.session.flush()
    _award_points(result, quiz, attempt.submitted_at)


def _give_points(member_id, quiz, rule, score, occurred_at):
    from learning import points

    points.award(member_id, rule, points_event_key(quiz.id, member_id, rule), occurred_at=occurred_at,
                 meta={"quiz_id": quiz.id, "title": quiz.title, "score": score})


def _award_points(result, quiz, occurred_at):
    """Points once per member per quiz, by the best score's tier; a better later attempt swaps the tier up."""
    from learning import points

    rule = grading.tier(result.score, quiz.total_score, quiz.pass_score)
    if result.points_rule and grading.TIER_RANK[rule] <= grading.TIER_RANK[result.points_rule]:
        return
    if result.points_rule:
        points.revoke(points_event_key(quiz.id, result.member_id, result.points_rule), meta={"upgraded_to": rule})
    _give_points(result.member_id, quiz, rule, result.score, occurred_at)
    result.points_rule = rule


def points_event_key(quiz_id, member_id, rule):
    return f"quiz:{quiz_id}:member:{member_id}:{rule}"


def _grade_expired(member_id, quiz, now):
    """Grade this member's attempt that ran out of time (plus grace) with what it saved."""
    attempt = db.session.scalar(select(Attempt).where(
        Attempt.quiz_id == quiz.id, Attempt.member_id == member_id, Attempt.status == "in_progress",
        Attempt.deadline_at < now - grace()).with_for_update())
    if attempt is not None:
        grade_attempt(attempt, quiz, now)


def reveals_answers(quiz, now=None):
    """Whether members may now see the correct answers and explanations: the quiz reveals them and its results are
    final (no attempt can change any more)."""
    return quiz.reveal_answers and audience.results_final(quiz, now)


def my_quizzes(member, page, per_page):
    """One page of the member's quizzes with their results, newest first."""
    base = select(QuizResult, Quiz).join(Quiz, Quiz.id == QuizResult.quiz_id).where(QuizResult.member_id == member.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.execute(base.order_by(Quiz.week_key.desc(), Quiz.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    items = [{"quiz": quiz, "result": result, "attempt_id": result.attempt_id,
              "answers_revealed": reveals_answers(quiz)} for result, quiz in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


# --- scheduler-facing ------------------------------------------------------------------------------

def open_quizzes(now):
    """A select of the quizzes open at a moment."""
    return select(Quiz).where(Quiz.opens_at <= now, Quiz.closes_at > now).order_by(Quiz.id)


def open_quiz_for_branch(branch, now):
    """The quiz a branch's members take that is open at a moment (the first to close, if two windows overlap)."""
    return db.session.scalars(open_quizzes(now).where(Quiz.id == audience.branch_quiz(branch.id, Quiz.week_key))
                              .order_by(None).order_by(Quiz.closes_at, Quiz.id).limit(1)).first()


def quizzes_due_between(since, now):
    """A select of the quizzes whose close plus grace fell after `since` and by `now`, closed yet or not."""
    return (select(Quiz).where(Quiz.closes_at > since - grace(), Quiz.closes_at <= now - grace())
            .order_by(Quiz.id))


def close_due_quizzes(now):
    """Close every quiz past its end (plus grace): grade attempts left open, stamp closed_at. Safe to repeat."""
    due = db.session.scalars(select(Quiz.id).where(Quiz.closes_at <= now - grace(), Quiz.closed_at.is_(None))).all()
    closed = []
    for quiz_id in due:
        quiz = db.session.get(Quiz, quiz_id)
        for attempt_id in db.session.scalars(select(Attempt.id).where(Attempt.quiz_id == quiz_id,
                                                                      Attempt.status == "in_progress")).all():
            attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id,
                                                              Attempt.status == "in_progress").with_for_update())
            if attempt is not None:
                grade_attempt(attempt, quiz, now)
        stamped = db.session.execute(update(Quiz).where(Quiz.id == quiz_id, Quiz.closed_at.is_(None))
                                     .values(closed_at=now))
        db.session.commit()
        if stamped.rowcount:
            closed.append(db.session.get(Quiz, quiz_id))
    return closed


# --- what the phone is shown ---------------------------------------------------------------------

def seconds_left(attempt, now=None):
    if attempt.status != "in_progress":
        return 0
    return max(0, int((attempt.deadline_at - (now or clock.now())).total_seconds()))


def attempt_view(member, attempt):
    """The attempt as its member sees it: their order, their saved answers; answers only once revealed."""
    from quizzes.bank import answer_text
    from quizzes.models import TYPE_LABELS

    quiz = definitions.get_definition(attempt.quiz_id)
    items = {item.question_id: item for item in quiz.items}
    revealed = attempt.status == "submitted" and reveals_answers(quiz)
    graded, withheld = {}, set()
    if revealed:
        graded = dict(db.session.execute(select(AttemptAnswer.question_id, AttemptAnswer.correct)
                                         .where(AttemptAnswer.attempt_id == attempt.id)).all())
        # A question asked again in a quiz the member may still take stays hidden in this review too.
        withheld = audience.answers_withheld(member)
    questions = []
    for entry in attempt.order:
        item = items[entry["q"]]
        question = item.question
        texts = {o["key"]: o["text"] for o in question.options}
        shown = {"id": question.id, "kind": question.kind, "kind_label": TYPE_LABELS[question.kind],
                 "stem": question.stem, "options": [{"key": k, "text": texts[k]} for k in entry["o"]],
                 "blanks": len(question.answer) if question.kind == "blank" else None, "points": item.points}
        if revealed and question.id in withheld:
            shown.update(answer=None, answer_text=None, explanation=None, correct=None)
        elif revealed:
            shown.update(answer=question.answer, answer_text=answer_text(question),
                         explanation=question.explanation, correct=graded.get(question.id))
        questions.append(shown)
    result = None
    if attempt.status == "submitted":
        result = {"score": attempt.score, "total_score": quiz.total_score, "passed": attempt.score >= quiz.pass_score,
                  "correct_count": attempt.correct_count, "question_count": len(quiz.items), "late": attempt.late,
                  "submitted_at": attempt.submitted_at}
    return {"id": attempt.id, "quiz_id": quiz.id, "number": attempt.number, "status": attempt.status,
            "started_at": attempt.started_at, "deadline_at": attempt.deadline_at,
            "seconds_left": seconds_left(attempt), "saved_at": attempt.saved_at, "answers": attempt.answers or {},
            "questions": questions, "result": result, "answers_revealed": revealed}


def show_attempt(member, attempt_id):
    """The member's own attempt (grading it first if its time ran out)."""
    attempt = attempt_for(member, attempt_id)
    if attempt.status == "in_progress" and clock.now() > attempt.deadline_at + grace():
        attempt = attempt_for(member, attempt_id, lock=True)
        if attempt.status == "in_progress":
            grade_attempt(attempt, definitions.get_definition(attempt.quiz_id), clock.now())
        db.session.commit()
    return attempt_view(member, attempt)
