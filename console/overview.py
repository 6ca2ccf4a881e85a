"""总览: this week's figures and the last 12 weeks' charts — for an admin the committee's with the branches ranked,
for one branch its own with links to what needs doing. The figures are console.stats'."""
from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy import func, select

from console import charts, stats
from console.desk import bp, console_login, me, page_arg
from core.extensions import db
from members import scope
from members.models import Committee
from quotas.services import branch_books


def _charts(series):
    # The last week is still running: saying 本周 keeps a half-week figure from reading as a fall.
    labels = [charts.week_label(w) for w in series["weeks"][:-1]] + ["本周"]
    return {
        "reading": charts.bar_chart(labels, series["reading"], "近 12 周学习完成率"),
        "quiz": charts.line_chart(labels, [("参与率", series["participation"]), ("合格率", series["pass_rate"])],
                                  "近 12 周测验参与率与合格率"),
    }


@bp.get("/")
@console_login
def overview():
    """This week's figures and the last 12 weeks for the member's scope; for an admin, the branches ranked."""
    member = me()
    if scope.manages_own_branch(member):
        return redirect(url_for("console.branch_page", branch_id=member.branch_id))
    data = stats.overview(member)
    committee = db.session.get(Committee, member.committee_id)
    sort = request.args.get("sort", "reading")
    if sort not in stats.RANKING_SORTS:
        sort = "reading"
    ranking = stats.branch_ranking(member, sort, page_arg(), current_app.config["CONSOLE_RANKING_PER_PAGE"])
    return render_template("console/overview.html", data=data, charts=_charts(data["series"]), ranking=ranking,
                           sorts=stats.RANKING_SORTS, title=committee.name, branch=None)


@bp.get("/branches/<int:branch_id>")
@console_login
def branch_page(branch_id):
    """One branch: this week's figures, the 12-week charts and what needs doing."""
    branch = scope.branch_for(me(), branch_id)
    data = stats.overview(me(), branch)
    pending = _pending_books_count(branch)
    return render_template("console/overview.html", data=data, charts=_charts(data["series"]), ranking=None,
                           title=branch.name, branch=branch, pending_books=pending)


def _pending_books_count(branch):
    return db.session.scalar(select(func.count()).select_from(branch_books(branch, status="pending").subquery()))
