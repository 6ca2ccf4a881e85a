"""Aggregates of the weekly quiz, computed in SQL: participation, scores, item analysis."""
from sqlalchemy import Integer, and_, case, cast, func, select

from core import clock
from core.extensions import db
from members.models import Branch, Member
from quizzes import grading
from quizzes.audience import audience_branch_ids, quiz_audience
from quizzes.models import AttemptAnswer, Quiz, QuizItem, QuizResult
from quizzes.services import quiz_for_branch


def members_not_submitted(quiz, branch_id=None):
    """A select of Member.id in a quiz's audience with no graded attempt (scheduler-facing)."""
    stmt = quiz_audience(quiz).where(~select(QuizResult.id).where(
        QuizResult.quiz_id == quiz.id, QuizResult.member_id == Member.id).exists())
    if branch_id is not None:
        stmt = stmt.where(Member.branch_id == branch_id)
    return stmt


def branch_quiz_stats(quiz, branch_ids):
    """Per-branch participation, average, median and pass rate for one quiz, over a select of branch ids."""
    audience = dict(db.session.execute(
        select(Member.branch_id, func.count()).where(Member.id.in_(quiz_audience(quiz)),
                                                     Member.branch_id.in_(branch_ids))
        .group_by(Member.branch_id)).all())
    scores = {row.branch_id: row for row in db.session.execute(
        select(QuizResult.branch_id, func.count().label("n"), func.avg(QuizResult.score).label("avg"),
               func.sum(case((QuizResult.passed, 1), else_=0)).label("passed"))
        .where(QuizResult.quiz_id == quiz.id, QuizResult.branch_id.in_(branch_ids))
        .group_by(QuizResult.branch_id))}
    medians = _medians(quiz.id, branch_ids)
    names = dict(db.session.execute(select(Branch.id, Branch.name).where(Branch.id.in_(branch_ids))).all())
    rows = []
    for branch_id in sorted(set(audience) | set(scores), key=lambda b: names.get(b, "")):
        row = scores.get(branch_id)
        rows.append(_summary(quiz, audience.get(branch_id, 0), row.n if row else 0, row.avg if row else None,
                             medians.get(branch_id), row.passed if row else 0,
                             branch_id=branch_id, branch_name=names.get(branch_id)))
    return rows


def overall_stats(quiz, branch_ids):
    """The same figures over all the given branches together."""
    audience = db.session.scalar(select(func.count()).where(Member.id.in_(quiz_audience(quiz)),
                                                            Member.branch_id.in_(branch_ids)))
    row = db.session.execute(
        select(func.count().label("n"), func.avg(QuizResult.score).label("avg"),
               func.sum(case((QuizResult.passed, 1), else_=0)).label("passed"))
        .where(QuizResult.quiz_id == quiz.id, QuizResult.branch_id.in_(branch_ids))).one()
    return _summary(quiz, audience, row.n, row.avg, _medians(quiz.id, branch_ids, overall=True).get(None),
                    row.passed or 0)


def _summary(quiz, audience, submitted, average, median, passed, **extra):
    return {**extra, "audience": audience, "submitted": submitted, "not_submitted": max(0, audience - submitted),
            "participation_rate": round(min(submitted / audience, 1.0), 4) if audience else None,
            "average_score": round(float(average), 2) if average is not None else None,
            "median_score": float(median) if median is not None else None,
            "pass_rate": round(passed / submitted, 4) if submitted else None, "total_score": quiz.total_score}


def _medians(quiz_id, branch_ids, overall=False):
    # Portable median: rank scores with window functions, then average the middle one or two rows.
    part = [] if overall else [QuizResult.branch_id]
    ranked = select(
        (QuizResult.branch_id if not overall else cast(None, Integer)).label("b"), QuizResult.score,
        func.row_number().over(partition_by=part or None, order_by=QuizResult.score).label("rn"),
        func.count().over(partition_by=part or None).label("n"),
    ).where(QuizResult.quiz_id == quiz_id, QuizResult.branch_id.in_(branch_ids)).subquery()
    middle = and_(ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2)
    return dict(db.session.execute(select(ranked.c.b, func.avg(ranked.c.score)).where(middle)
                                   .group_by(ranked.c.b)).all())


def branch_quiz_summary(branch_ids, quiz_or_week):
    """Per-branch figures for one quiz, or for each branch's own quiz in a week ('2026-W47').

    Notifications call this."""
    if isinstance(quiz_or_week, Quiz):
        return branch_quiz_stats(quiz_or_week, select(Branch.id).where(Branch.id.in_(branch_ids)))
    rows = []
    by_quiz = {}
    for branch in db.session.scalars(select(Branch).where(Branch.id.in_(branch_ids))):
        quiz = quiz_for_branch(branch, quiz_or_week)
        if quiz is not None:
            by_quiz.setdefault(quiz.id, (quiz, []))[1].append(branch.id)
    for quiz, ids in by_quiz.values():
        for row in branch_quiz_stats(quiz, select(Branch.id).where(Branch.id.in_(ids))):
            rows.append({**row, "quiz_id": quiz.id})
    return rows


def item_analysis(quiz, withheld=frozenset()):
    """Facility, discrimination (upper vs lower 27% by score), option choices and dubious flags per question.

    The key is not marked for questions in `withheld` (quizzes.audience.answers_withheld of the reader)."""
    n = db.session.scalar(select(func.count()).where(QuizResult.quiz_id == quiz.id))
    k = grading.group_size(n)
    ranked = select(QuizResult.attempt_id, func.row_number().over(
        order_by=(QuizResult.score.desc(), QuizResult.member_id)).label("rn")).where(
        QuizResult.quiz_id == quiz.id).subquery()
    counted = (select(AttemptAnswer.question_id, AttemptAnswer.choice, AttemptAnswer.correct, ranked.c.rn,
                      case((ranked.c.rn <= k, 1), else_=0).label("upper"))
               .join(ranked, ranked.c.attempt_id == AttemptAnswer.attempt_id)).subquery()
    figures = {r.question_id: r for r in db.session.execute(
        select(counted.c.question_id, func.count().label("n"),
               func.sum(case((counted.c.correct, 1), else_=0)).label("right"),
               func.sum(case((and_(counted.c.correct, counted.c.upper == 1), 1), else_=0)).label("upper_right"),
               func.sum(case((and_(counted.c.correct, counted.c.rn > n - k), 1), else_=0)).label("lower_right"))
        .group_by(counted.c.question_id))}
    choices = {}
    for question_id, choice, in_upper, count in db.session.execute(
            select(counted.c.question_id, counted.c.choice, counted.c.upper, func.count())
            .where(counted.c.choice.is_not(None))
            .group_by(counted.c.question_id, counted.c.choice, counted.c.upper)):
        entry = choices.setdefault(question_id, ({}, {}))
        for option in (choice or "-"):  # a multiple-choice response counts once for each option chosen
            entry[0][option] = entry[0].get(option, 0) + count
            if in_upper:
                entry[1][option] = entry[1].get(option, 0) + count
    items = []
    for item in db.session.scalars(select(QuizItem).where(QuizItem.quiz_id == quiz.id).order_by(QuizItem.position)):
        question = item.question
        row = figures.get(question.id)
        answered = row.n if row else 0
        facility = round(row.right / answered, 4) if answered else None
        discrimination = round((row.upper_right - row.lower_right) / k, 4) if answered and k else None
        all_choices, upper_choices = choices.get(question.id, ({}, {}))
        key = question.answer if question.kind in ("single", "judge", "multiple") else None
        key = None if question.id in withheld else key
        key = "".join(key) if isinstance(key, list) else key
        options = [{"key": o["key"], "text": o["text"], "chosen": all_choices.get(o["key"], 0),
                    "chosen_by_upper": upper_choices.get(o["key"], 0), "is_key": bool(key and o["key"] in key)}
                   for o in question.options]
        reasons = grading.dubious_reasons(facility, discrimination, key, upper_choices) if answered else []
        items.append({"position": item.position, "question_id": question.id, "kind": question.kind,
                      "stem": question.stem, "answered": answered, "facility": facility,
                      "discrimination": discrimination, "options": options,
                      "unanswered": all_choices.get("-", 0), "dubious": bool(reasons), "reasons": reasons})
    return {"quiz_id": quiz.id, "takers": n, "group_size": k, "items": items}


def results_for_export(quiz, branch_ids):
    """Rows for the results spreadsheet: every audience member in the given branches, taken or not."""
    rows = db.session.execute(
        select(Branch.name, Member.name, Member.phone, QuizResult.score, QuizResult.passed, QuizResult.attempts,
               QuizResult.submitted_at)
        .join(Branch, Branch.id == Member.branch_id)
        .outerjoin(QuizResult, and_(QuizResult.quiz_id == quiz.id, QuizResult.member_id == Member.id))
        .where(Member.id.in_(quiz_audience(quiz)), Member.branch_id.in_(branch_ids))
        .order_by(Branch.name, QuizResult.score.desc().nulls_last(), Member.name))
    for branch, name, phone, score, passed, attempts, submitted_at in rows:
        taken = score is not None
        yield [branch, name, phone, "已完成" if taken else "未参加", score if taken else "", quiz.total_score,
               ("是" if passed else "否") if taken else "", attempts or 0,
               clock.format_cn(submitted_at) if submitted_at else ""]


EXPORT_HEADERS = ["支部", "姓名", "手机号", "状态", "得分", "总分", "是否及格", "作答次数", "提交时间"]

__all__ = ["members_not_submitted", "branch_quiz_stats", "overall_stats", "branch_quiz_summary", "item_analysis",
           "results_for_export", "EXPORT_HEADERS", "audience_branch_ids"]
