"""What each notification says, and whom it goes to, asked of the other rooms through their query services.

Imports of learning, quizzes and quotas are made inside the functions that ask them, so importing notifications
loads none of those rooms.
"""
from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.clock import format_cn
from core.extensions import db
from learning.stats import members_behind_reading
from members.models import Member
from quizzes.models import QuizResult
from quizzes.services import open_quiz_for_branch
from quizzes.stats import members_not_submitted
from quotas.stats import members_behind_pace


def _day_cn(day):
    return f"{day.year}年{day.month}月{day.day}日"


def study_material_message(day):
    """Today's material is out."""
    return {"title": "今日学习材料已发布", "body": f"{_day_cn(day)}的学习材料已发布，请及时学习。",
            "page": "pages/study/index",
            "data": {"thing1": "每日学习材料已发布", "date2": _day_cn(day), "thing3": "请及时完成今日学习"}}


def quiz_open_message(quiz):
    """This week's quiz is open."""
    closes = format_cn(quiz.closes_at)
    return {"title": f"{quiz.title}已开放", "body": f"本周测验“{quiz.title}”已开放，请于{closes}前完成作答。",
            "page": f"pages/quiz/index?id={quiz.id}",
            "data": {"thing1": quiz.title, "time2": closes, "thing3": "请在截止前完成作答"}}


def quiz_reminder_message(quiz):
    """You have not submitted yet."""
    closes = format_cn(quiz.closes_at)
    return {"title": "测验提醒", "body": f"您还未提交“{quiz.title}”，截止时间{closes}，请尽快作答。",
            "page": f"pages/quiz/index?id={quiz.id}",
            "data": {"thing1": quiz.title, "time2": closes, "thing3": "您还未提交，请尽快作答"}}


def quiz_close_moved_message(quiz):
    """The close of an open quiz has moved: the new close."""
    closes = format_cn(quiz.closes_at)
    return {"title": "测验截止时间调整", "body": f"“{quiz.title}”截止时间调整为{closes}，请在截止前完成作答。",
            "page": f"pages/quiz/index?id={quiz.id}",
            "data": {"thing1": quiz.title, "time2": closes, "thing3": "截止时间已调整，请按时作答"}}


def quiz_result_message(quiz, result=None):
    """Results are ready: with the member's own score and whether they passed, if they took the quiz."""
    if result is None:
        score, verdict, body = "0", "未参加", f"“{quiz.title}”已截止，您未参加本次测验，可查看题目解析。"
    else:
        score, verdict = str(result.score), "合格" if result.passed else "未合格"
        body = f"“{quiz.title}”成绩已公布：{result.score}/{quiz.total_score} 分，{verdict}。"
    return {"title": f"{quiz.title}成绩已公布", "body": body, "page": f"pages/quiz/result?id={quiz.id}",
            "data": {"thing1": quiz.title, "number2": score, "phrase3": verdict, "thing4": "点击查看成绩与解析"}}


def quiz_results_for(quiz):
    """A per-chunk message builder: each member's own result, read in one query per chunk."""

    def build(member_ids):
        results = {r.member_id: r for r in db.session.scalars(
            select(QuizResult).where(QuizResult.quiz_id == quiz.id, QuizResult.member_id.in_(member_ids)))}
        return {m: quiz_result_message(quiz, results.get(m)) for m in member_ids}

    return build


def reminder_quiz_message(quiz):
    """The secretary's 一键提醒 for the quiz (a quiz-reminder template)."""
    message = quiz_reminder_message(quiz)
    message["data"]["thing3"] = "支部书记提醒您尽快作答"
    return message


def task_message(title, body, task, deadline, who, hint, page):
    """A task reminder (tmpl-task-reminder): task, deadline, who asks, a hint."""
    return {"title": title, "body": body, "page": page,
            "data": {"thing1": task, "time2": format_cn(deadline), "name3": who, "thing4": hint}}


def quota_reminder_message(year, now):
    """You are behind the pace of your 1+4+1 quotas."""
    year_end = clock.year_bounds(year)[1] - timedelta(minutes=1)
    return task_message("1+4+1 进度提醒", f"您的 {year} 年 1+4+1 学习任务进度落后，请抓紧完成。",
                        "1+4+1 学习任务进度落后", year_end, "党支部", "请按计划完成交流和读书", "pages/quota/index")


def behind_for_reminder(kind, branch, now):
    """(select of Member.id, message) for the secretary's 一键提醒 of one kind in one branch."""
    day = clock.local_day_of(now)
    if kind == "reading":

        # Behind this week: an item due so far this week (its day has come) not yet studied.
        monday = clock.week_monday(day)
        sunday = monday + timedelta(days=6)
        message = task_message("学习提醒", "本周的学习材料您还没有学完，请抽空完成。", "本周学习材料未学完",
                               clock.day_bounds(sunday)[1] - timedelta(minutes=1), "支部书记", "请抽空完成本周学习",
                               "pages/study/index")
        return members_behind_reading(monday, sunday, branch_id=branch.id), message
    if kind == "quiz":

        # The branch's members all take one quiz: the branch's own, else their committee's (quizzes.audience).
        quiz = open_quiz_for_branch(branch, now)
        if quiz is None:
            return select(Member.id).where(Member.id.is_(None)), None
        return members_not_submitted(quiz, branch_id=branch.id), reminder_quiz_message(quiz)
    if kind == "quota":

        message = task_message("1+4+1 进度提醒", "您的 1+4+1 学习任务进度落后，请抓紧完成。",
                               "1+4+1 学习任务进度落后", clock.year_bounds(day.year)[1] - timedelta(minutes=1),
                               "支部书记", "请按计划完成交流和读书", "pages/quota/index")
        return members_behind_pace(day.year, day, branch_id=branch.id), message
    raise ValueError(f"unknown reminder kind {kind!r}")


def book_reviewed_message(report):
    """A member's book report was approved, or returned with the reviewer's reason."""
    if report.status == "approved":
        body, hint = f"您提交的读书报告《{report.title}》已审核通过，计入本年度 1+4+1 读书任务。", "已审核通过"
    else:
        body = (f"您提交的读书报告《{report.title}》未通过审核，"
                f"原因：{report.reject_reason.rstrip('。.')}。可修改后重新提交。")
        hint = f"未通过：{report.reject_reason}"
    return task_message("读书报告审核结果", body, f"读书报告《{report.title}》", report.reviewed_at, "支部书记", hint,
                        "pages/quota/index")


def _pct(rate):
    return "暂无数据" if rate is None else f"{float(rate) * 100:.0f}%"


def digest_lines(reading, quiz, absent_names, behind_pace):
    """The lines of a branch's weekly digest, from learning's and quizzes' per-branch rows (dicts, or None)."""
    lines = []
    if reading:
        idle = reading.get("idle_week_members") or 0
        lines.append(f"学习完成率：{_pct(reading.get('rate'))}" + (f"，{idle} 人整周未学习" if idle else ""))
    else:
        lines.append("学习完成率：暂无数据")
    if quiz:
        lines.append(f"测验参与率：{_pct(quiz.get('participation_rate'))}，合格率：{_pct(quiz.get('pass_rate'))}")
        missing = quiz.get("not_submitted") or 0
        if missing:
            shown = "、".join(absent_names[:10])
            lines.append(f"未参加测验：{shown}" + (f"等 {missing} 人" if missing > len(absent_names[:10]) else ""))
    else:
        lines.append("测验：上周无测验")
    if behind_pace is not None:
        lines.append(f"1+4+1 进度落后：{behind_pace} 人")
    return lines


def digest_message(branch, week, lines, now):
    """A secretary's weekly digest: inbox text and a task-reminder push."""
    title = f"{branch.name}上周学习周报"
    return task_message(title, "\n".join(lines), "上周学习与测验周报", now, "党支部",
                        lines[0][:20] if lines else "请查看周报", "pages/branch/index")


def quota_tally_message(branch, tally, year, now):
    """A quarterly 1+4+1 tally to a branch's secretary."""
    tally = tally or {}
    done, members = tally.get("complete_count"), tally.get("member_count")
    summary = f"已完成 {done}/{members} 人" if done is not None and members else "请查看公示表"
    return task_message(f"{branch.name} {year} 年 1+4+1 季度公示", f"{year} 年 1+4+1 任务：{summary}。",
                        "1+4+1 季度公示", now, "党支部", summary, "pages/quota/branch")
