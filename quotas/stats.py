"""Yearly 1+4+1 aggregates, all in SQL: per-member counts, the branch tally, completion rates, who is behind."""
from flask import current_app
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from core import clock
from core.extensions import db
from members.models import Branch, Committee, Member, PartyGroup
from quotas import rules
from quotas.models import Attendance, BookReport, BranchQuotaPolicy, Exchange, ExchangeSpeaker, QuotaPolicy


def default_policy():
    """The configured default quotas (1 / 4 / 1 unless QUOTA_DEFAULTS says otherwise)."""
    return dict(current_app.config["QUOTA_DEFAULTS"])


def effective_policy(branch, year):
    """The quotas that apply to a branch in a year, and where they come from (branch / committee / default)."""
    override = db.session.scalar(select(BranchQuotaPolicy).where(BranchQuotaPolicy.branch_id == branch.id,
                                                                 BranchQuotaPolicy.year == year))
    if override is not None:
        return policy_dict(override, "branch")
    return committee_policy(branch.committee_id, year)


def committee_policy(committee_id, year):
    """A committee's quotas for a year, or the defaults."""
    policy = db.session.scalar(select(QuotaPolicy).where(QuotaPolicy.committee_id == committee_id,
                                                         QuotaPolicy.year == year))
    if policy is not None:
        return policy_dict(policy, "committee")
    return {**default_policy(), "year": year, "source": "default"}


def policy_dict(row, source):
    return {"talks": row.talks, "attends": row.attends, "books": row.books, "year": row.year, "source": source}


def count_subqueries(year, member_ids):
    """Three subqueries (member_id, n, scheduled): talks given, exchanges attended, distinct books read in `year`.

    A talk or an attendance counts (n) once its exchange is approved and has taken place (its end has passed);
    approved and still to come it is `scheduled` (已安排). `member_ids` is a select of Member.id restricting the
    work to the members asked about.
    """
    approved = and_(Exchange.year == year, Exchange.status == "approved")
    held = Exchange.ends_at <= clock.now()

    def per_member(model, name):
        return (select(model.member_id.label("member_id"), func.count().filter(held).label("n"),
                       func.count().filter(~held).label("scheduled"))
                .join(Exchange, Exchange.id == model.exchange_id)
                .where(approved, model.member_id.in_(member_ids))
                .group_by(model.member_id).subquery(name))

    # The (member, year, book_key) unique key already makes a book count once; DISTINCT says so here too.
    books = (select(BookReport.member_id.label("member_id"), func.count(BookReport.book_key.distinct()).label("n"),
                    literal(0).label("scheduled"))
             .where(BookReport.year == year, BookReport.status == "approved", BookReport.member_id.in_(member_ids))
             .group_by(BookReport.member_id).subquery("books"))
    return per_member(ExchangeSpeaker, "talks"), per_member(Attendance, "attends"), books


def policy_columns(year, branch_id_col, committee_id_col):
    """(joins, talks, attends, books): the effective quotas per row — branch override, else committee, else default."""
    defaults = default_policy()
    bp = aliased(BranchQuotaPolicy)
    cp = aliased(QuotaPolicy)
    joins = [(bp, and_(bp.branch_id == branch_id_col, bp.year == year)),
             (cp, and_(cp.committee_id == committee_id_col, cp.year == year))]
    cols = [func.coalesce(getattr(bp, item), getattr(cp, item), literal(defaults[item])) for item in rules.ITEMS]
    return (joins, *cols)


def _member_rows(year, member_filter):
    """A select of (member, counts, quotas, complete) for active members matching member_filter."""
    member_ids = select(Member.id).where(member_filter, Member.active.is_(True))
    talks, attends, books = count_subqueries(year, member_ids)
    joins, q_talks, q_attends, q_books = policy_columns(year, Member.branch_id, Branch.committee_id)
    given = func.coalesce(talks.c.n, 0)
    attended = func.coalesce(attends.c.n, 0)
    read = func.coalesce(books.c.n, 0)
    complete = and_(given >= q_talks, attended >= q_attends, read >= q_books)
    stmt = (select(Member.id.label("member_id"), Member.name, Member.branch_id, PartyGroup.name.label("group"),
                   given.label("given"), attended.label("attended"), read.label("read"),
                   func.coalesce(talks.c.scheduled, 0).label("given_scheduled"),
                   func.coalesce(attends.c.scheduled, 0).label("attended_scheduled"),
                   q_talks.label("q_talks"), q_attends.label("q_attends"), q_books.label("q_books"),
                   case((complete, 1), else_=0).label("complete"))
            .join(Branch, Branch.id == Member.branch_id)
            .outerjoin(PartyGroup, PartyGroup.id == Member.group_id)
            .outerjoin(talks, talks.c.member_id == Member.id)
            .outerjoin(attends, attends.c.member_id == Member.id)
            .outerjoin(books, books.c.member_id == Member.id)
            .where(member_filter, Member.active.is_(True)))
    for alias, on in joins:
        stmt = stmt.outerjoin(alias, on)
    return stmt


def member_counts(member_id, year):
    """{talks, attends, books} that count for one member in one year (approved; exchanges held)."""
    ids = select(Member.id).where(Member.id == member_id)
    return {item: db.session.scalar(select(func.coalesce(func.max(sub.c.n), 0)))
            for item, sub in zip(rules.ITEMS, count_subqueries(year, ids))}


def branch_tally(branch_id, year):
    """The 公示 table of a branch: policy, each active member's counts and completion, and the totals."""
    branch = db.session.get(Branch, branch_id)
    rows = db.session.execute(_member_rows(year, Member.branch_id == branch_id)
                              .order_by(Member.name, Member.id)).all()
    members = [{"member_id": r.member_id, "name": r.name, "group": r.group, "given": r.given,
                "attended": r.attended, "read": r.read, "given_scheduled": r.given_scheduled,
                "attended_scheduled": r.attended_scheduled, "complete": bool(r.complete)} for r in rows]
    complete = sum(1 for m in members if m["complete"])
    return {"branch": {"id": branch.id, "name": branch.name}, "year": year,
            "policy": effective_policy(branch, year), "members": members, "member_count": len(members),
            "complete_count": complete, "completion_rate": _rate(complete, len(members))}


def committee_completion(committee, year):
    """Each branch in a committee's subtree: active members, how many completed, and the rate."""
    in_subtree = Branch.committee_id.in_(select(Committee.id).where(Committee.path.like(committee.path + "%")))
    per_member = _member_rows(year, Member.branch_id.in_(select(Branch.id).where(in_subtree))).subquery()
    totals = (select(per_member.c.branch_id, func.count().label("members"), func.sum(per_member.c.complete)
                     .label("complete")).group_by(per_member.c.branch_id).subquery())
    rows = db.session.execute(
        select(Branch.id, Branch.name, Committee.name.label("committee_name"),
               func.coalesce(totals.c.members, 0), func.coalesce(totals.c.complete, 0))
        .join(Committee, Committee.id == Branch.committee_id)
        .outerjoin(totals, totals.c.branch_id == Branch.id)
        .where(in_subtree).order_by(Committee.path, Branch.name)
    ).all()
    return [{"branch_id": b_id, "branch_name": name, "committee_name": c_name, "member_count": int(n),
             "complete_count": int(done), "completion_rate": _rate(int(done), int(n))}
            for b_id, name, c_name, n, done in rows]


def branches_completion(branch_ids, year):
    """{branch_id: (active members, completed)} for the given branches only, in one grouped query (for a page)."""
    per_member = _member_rows(year, Member.branch_id.in_(branch_ids)).subquery()
    return {b: (int(n), int(done or 0)) for b, n, done in db.session.execute(
        select(per_member.c.branch_id, func.count(), func.sum(per_member.c.complete))
        .group_by(per_member.c.branch_id))}


def members_behind_pace(year, day, branch_id=None):
    """A select of Member.id: active members behind the pace of their quotas at local `day` (see rules.expected_by)."""
    months = rules.months_elapsed(year, day)
    member_filter = Member.branch_id == branch_id if branch_id is not None else Member.branch_id.is_not(None)
    rows = _member_rows(year, member_filter).subquery()

    def expected(quota):
        # Mirrors rules.expected_by in integer SQL: (2·q·m + 12) // 24.
        return (quota * (2 * months) + 12) // 24

    return select(rows.c.member_id).where(or_(rows.c.given < expected(rows.c.q_talks),
                                              rows.c.attended < expected(rows.c.q_attends),
                                              rows.c.read < expected(rows.c.q_books)))


def current_year():
    """The Asia/Shanghai year now."""
    return clock.today().year


def _rate(done, total):
    return round(done / total, 4) if total else 0.0
