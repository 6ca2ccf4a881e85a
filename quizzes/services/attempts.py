"""A member's attempts at the week's quiz: start, autosave, submit (grading and the result it folds into:
quizzes.services.scoring; where the member stands in their week: quizzes.services.week; what the phone is shown of
an attempt: quizzes.services.review)."""
import functools
from collections import namedtuple
from datetime import timedelta

from sqlalchemy import JSON, Integer, bindparam, select

from core import clock, fresh
from core.db import after_commit, alone, built_once, dialect_insert, json_merged, settle
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from quizzes import definitions, grading
from quizzes.audience import grace
from quizzes.models import Attempt
from quizzes.services import first_submit, takers
from quizzes.services.scoring import expired, grade, grade_attempt, grade_left_open, record_grade
from quizzes.services.takers import UNKNOWN
from quizzes.services.visibility import quiz_for_taker


def attempts_gen(member_id):
    """The counter of a member's attempts, which their cached week depends on (quizzes.services.current)."""
    return fresh.gen_key("quiz", "attempts", member_id)


def attempt_written(member_id, started=None):
    """What writing a member's attempt means for the caches, on commit: the week they are shown is stale, and a
    started attempt (`started`: its quiz id) makes them one of its quiz's takers (quizzes.services.takers). The ORM's
    flush says it for every attempt it writes (quizzes.services.current's listener); a Core write says it itself."""
    fresh.bump_after_commit(attempts_gen(member_id))
    if started is not None:
        after_commit(takers.add, started, member_id)


def order_seed(quiz_id, member_id, number):
    """The seed of an attempt's shuffle: unique per attempt and known before the row is written."""
    return f"attempt:{quiz_id}:{member_id}:{number}"


def start_attempt(member, quiz_id):
    """Start an attempt, or return the one in progress (a resume after a lost connection): → (attempt, started).

    Whether the member has started is asked of Redis's takers set first (quizzes.services.takers.lookup, read with
    the session when the view prefetched it): when it says not, the first start inserts without reading the member's
    attempts. The lookup also gives the generation of the week's definition, so this worker's kept one serves."""
    return _start(member, quiz_id, _taken(member, quiz_id))


def _start(member, quiz_id, taken):
    now = clock.now()
    quiz = quiz_for_taker(member, quiz_id)
    attempts = [] if taken is False else db.session.scalars(
        select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.member_id == member.id).order_by(Attempt.number)
    ).all()
    current = next((a for a in attempts if a.status == "in_progress"), None)
    if current is not None and current.deadline_at < now - grace():
        grade_left_open(quiz, now, Attempt.member_id == member.id, expired(now))
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
    values = {"quiz_id": quiz.id, "member_id": member.id, "branch_id": member.branch_id, "number": used + 1,
              "status": "in_progress", "answers": {}, "started_at": now, "deadline_at": deadline, "late": False,
              "order": grading.shuffled_order(order_seed(quiz.id, member.id, used + 1), questions)}
    if taken is False:
        # Nothing was read: the insert, whose unique key says when it applies, runs alone. What it means for the
        # caches is said first, as it holds either way: the member has an attempt at the quiz (this one or a twin's).
        attempt_written(values["member_id"], started=quiz.id)
        inserted = alone(_start_insert(), values)
        attempt_id = inserted[0].id if inserted else None
    else:
        attempt_id = db.session.execute(_start_insert(), values).scalar()
    if attempt_id is None:  # the unique key was taken (nothing written)
        db.session.rollback()
        if taken is False:  # the set was behind the table (an add not yet made): decide from the table
            return _start(member, quiz_id, UNKNOWN)
        # The phone retried while the first request was still running: hand back that attempt.
        current = _in_progress(quiz.id, member.id)
        if current is None:
            raise Conflict("作答次数已用完", code="no_attempts_left")
        return current, False
    if taken is not False:
        attempt_written(values["member_id"], started=quiz.id)
        db.session.commit()
    return Written(id=attempt_id, saved_at=None, score=None, correct_count=None, submitted_at=None, **values), True


@built_once
def _start_insert():
    # Core, not the ORM's flush (a third of a start's CPU); a twin's row makes it insert nothing, no failed statement.
    return (dialect_insert(_ATTEMPTS).on_conflict_do_nothing(index_elements=["quiz_id", "member_id", "number"])
            .returning(_ATTEMPTS.c.id))


def _taken(member, quiz_id):
    """False when Redis says the member has no attempt at `quiz_id` (the week's quiz of their branch); else UNKNOWN."""
    if not member.branch_id:
        return UNKNOWN
    found, taken = takers.lookup(clock.week_key(), member.branch_id, member.id)
    return taken if found == quiz_id else UNKNOWN


def _note_week_quiz(member):
    """An autosave or a submit is nearly always on the week's quiz: the lookup read with the session gives the
    generation of its definition, so the definition this worker keeps serves it (quizzes.definitions). → the week's
    quiz id of the member's branch as that lookup said, or None."""
    if not member.branch_id:
        return None
    return takers.note_prefetched(clock.week_key(), member.branch_id, member.id)


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


# What an autosave wrote, with what the response shows of the attempt.
Saved = namedtuple("Saved", "id status deadline_at saved_at answers")

# An attempt as a start or a whole-sheet submit wrote it, for the response: its columns, not an ORM object (whose
# construction alone costs a start a few per cent).
Written = namedtuple("Written", [c.name for c in Attempt.__table__.columns])


_ATTEMPTS = Attempt.__table__  # Core, not ORM: no entity to load, nothing to synchronize
_SAVE_READ = select(_ATTEMPTS.c.id, _ATTEMPTS.c.quiz_id, _ATTEMPTS.c.status, _ATTEMPTS.c.deadline_at,
                    _ATTEMPTS.c.order, _ATTEMPTS.c.answers)
# The autosave of an attempt in progress at the week's quiz, in time: merged in the row, so nothing is read first.
_SAVE = (_ATTEMPTS.update()
         .where(_ATTEMPTS.c.id == bindparam("attempt_id"), _ATTEMPTS.c.member_id == bindparam("member"),
                _ATTEMPTS.c.quiz_id == bindparam("quiz"), _ATTEMPTS.c.status == "in_progress",
                _ATTEMPTS.c.deadline_at >= bindparam("in_time_since", type_=_ATTEMPTS.c.deadline_at.type))
         .values(answers=json_merged(_ATTEMPTS.c.answers, bindparam("patch", type_=JSON)),
                 saved_at=bindparam("now", type_=_ATTEMPTS.c.saved_at.type))
         .returning(_ATTEMPTS.c.deadline_at, _ATTEMPTS.c.answers))


def save_answers(member, attempt_id, answers):
    """Autosave: merge answers into the attempt in progress; returns what was saved with the attempt's time left.

    The hottest write of the quiz. Nearly every autosave is of the week's quiz (known from the lookup read with the
    session), in time, with answers that fit its questions: then it is one conditional UPDATE that merges them in the
    row, alone (core.db.alone: one round trip on PostgreSQL), and no counter is bumped (nothing the member's cached
    week shows changes). Anything else — another quiz's attempt, not theirs, submitted, time run out, answers that do
    not fit — is decided from the locked row, as before."""
    now = clock.now()
    quiz_id = _note_week_quiz(member)
    if quiz_id is not None:
        quiz = definitions.get_definition(quiz_id)
        if now <= quiz.closes_at + grace() and not _problems(answers, functools.partial(_in_quiz, quiz)):
            rows = alone(_SAVE, {"attempt_id": attempt_id, "member": member.id, "quiz": quiz_id,
                                 "in_time_since": now - grace(), "patch": answers, "now": now})
            if rows:
                return Saved(attempt_id, "in_progress", rows[0].deadline_at, now, rows[0].answers)
    return _save_locked(member, attempt_id, answers, now)


def _save_locked(member, attempt_id, answers, now):
    row = db.session.execute(_SAVE_READ.where(_ATTEMPTS.c.id == attempt_id, _ATTEMPTS.c.member_id == member.id)
                             .with_for_update()).first()
    if row is None:
        raise NotFound("作答记录不存在")
    if row.status != "in_progress":
        raise Conflict("本次作答已提交", code="attempt_submitted")
    quiz = definitions.get_definition(row.quiz_id)
    if now > _deadline(row, quiz) + grace():
        grade_attempt(attempt_for(member, attempt_id, lock=True), quiz, now)
        db.session.commit()
        raise Conflict("作答时间已到，已按保存的答案评分", code="attempt_expired")
    merged = _merged(row.order, row.answers, quiz, answers)
    db.session.execute(_ATTEMPTS.update().where(_ATTEMPTS.c.id == row.id).values(answers=merged, saved_at=now))
    db.session.commit()
    return Saved(row.id, row.status, row.deadline_at, now, merged)


def _merge(attempt, quiz, answers):
    attempt.answers = _merged(attempt.order, attempt.answers, quiz, answers)


def _merged(order, saved, quiz, answers):
    """The saved answers with `answers` merged in, each checked against the attempt's questions (422 if not); an
    answer set to null is cleared (the key removed, as the one-statement autosave's merge does)."""
    entries = {str(e["q"]): e for e in order}
    problems = _problems(answers, lambda qid: (quiz.questions[entries[qid]["q"]], entries[qid]["o"])
                         if qid in entries else None)
    if problems:
        raise Invalid.fields("答案格式不正确", problems, code="invalid_answers")
    merged = dict(saved or {})
    merged.update({str(k): v for k, v in answers.items()})
    return {k: v for k, v in merged.items() if v is not None}


def _in_quiz(quiz, qid):
    """(question, option keys) of question `qid` in `quiz`, or None: what any attempt at it was shuffled from (its
    questions and their options are fixed once it has opened: quizzes.services.authoring, quizzes.bank)."""
    question = quiz.questions.get(int(qid))
    return None if question is None else (question, [o["key"] for o in question.options])


def _problems(answers, question_of):
    """{question id: [reason]} of the responses that do not fit; `question_of(id)` → (question, option keys) or None."""
    problems = {}
    for qid, response in answers.items():
        found = question_of(str(qid))
        if found is None:
            problems[str(qid)] = ["题目不在本次测验中"]
            continue
        question, option_keys = found
        blanks = len(question.answer) if question.kind == "blank" else 0
        reason = grading.response_problem(question.kind, option_keys, blanks, response)
        if reason:
            problems[str(qid)] = [reason]
    return problems


def submit_attempt(member, attempt_id, answers=None):
    """Grade an attempt once: a repeat or concurrent submit returns the same result; late ones grade what was saved.

    A submit that answers (or clears) every question of the week's quiz, in time — the phone sends all it holds —
    does not depend on what was saved before: it is graded first and written with one conditional UPDATE, no read
    and no ORM object. Anything else is graded from the locked row."""
    now = clock.now()
    quiz_id = _note_week_quiz(member)
    if quiz_id is not None and answers:
        attempt = _submit_whole(member, attempt_id, definitions.get_definition(quiz_id), answers, now)
        if attempt is not None:
            return attempt
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


# The submit of an attempt in progress at the week's quiz, in time, with every question's final answer.
_SUBMIT = (_ATTEMPTS.update()
           .where(_ATTEMPTS.c.id == bindparam("attempt_id"), _ATTEMPTS.c.member_id == bindparam("member"),
                  _ATTEMPTS.c.quiz_id == bindparam("quiz"), _ATTEMPTS.c.status == "in_progress",
                  _ATTEMPTS.c.deadline_at >= bindparam("in_time_since", type_=_ATTEMPTS.c.deadline_at.type))
           .values(answers=bindparam("final", type_=JSON), saved_at=bindparam("now", type_=_ATTEMPTS.c.saved_at.type),
                   status="submitted", score=bindparam("score", type_=Integer),
                   correct_count=bindparam("correct", type_=Integer), late=False,
                   submitted_at=bindparam("now", type_=_ATTEMPTS.c.submitted_at.type))
           .returning(_ATTEMPTS.c.branch_id, _ATTEMPTS.c.number, _ATTEMPTS.c.order, _ATTEMPTS.c.started_at,
                      _ATTEMPTS.c.deadline_at))


def _submit_whole(member, attempt_id, quiz, answers, now):
    """The submitted attempt, if `answers` answer every question of `quiz` and it is the member's attempt in progress
    at it, in time; else None, with nothing written (the caller decides from the locked row)."""
    if (now > quiz.closes_at + grace() or set(answers) != {str(qid) for qid in quiz.questions}
            or _problems(answers, functools.partial(_in_quiz, quiz))):
        return None
    final = {k: v for k, v in answers.items() if v is not None}
    member_id = member.id
    score, correct_count, rows = graded = grade(quiz, final, attempt_id)
    row = first_submit.write(member_id, attempt_id, quiz, final, graded, now, now - grace())  # nearly always
    if row is not None:
        attempt = _submitted(attempt_id, quiz, member_id, row, final, score, correct_count, now)
        attempt_written(member_id)
        settle()  # nothing left to write: runs the after-commit work (the bump, the boards)
        return attempt
    row = db.session.execute(_SUBMIT, {"attempt_id": attempt_id, "member": member_id, "quiz": quiz.id,
                                       "in_time_since": now - grace(), "final": final, "now": now, "score": score,
                                       "correct": correct_count}).first()
    if row is None:
        return None
    attempt_written(member_id)  # what the member's week shows changed: status, result
    attempt = _submitted(attempt_id, quiz, member_id, row, final, score, correct_count, now)
    record_grade(attempt, quiz, rows)
    db.session.commit()
    return attempt


def _submitted(attempt_id, quiz, member_id, row, final, score, correct_count, now):
    """The attempt as a whole-sheet submit wrote it (`row`: what its UPDATE returned)."""
    return Written(id=attempt_id, quiz_id=quiz.id, member_id=member_id, branch_id=row.branch_id,
                   number=row.number, order=row.order, answers=final, started_at=row.started_at,
                   deadline_at=row.deadline_at, saved_at=now, status="submitted", score=score,
                   correct_count=correct_count, late=False, submitted_at=now)
