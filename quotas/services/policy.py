"""Setting the yearly quotas: a committee's policy, a branch's override, clearing it."""
from sqlalchemy import select

from core import audit
from core.db import commit_or_conflict
from core.errors import Conflict
from core.extensions import db
from quotas import stats
from quotas.models import BranchQuotaPolicy, QuotaPolicy

# Reads of the policy live in stats (the tallies need them); the verbs that change it are here.
effective_policy = stats.effective_policy
committee_policy = stats.committee_policy


def set_committee_policy(actor, committee, values):
    """Set (create or replace) a committee's quotas for a year."""
    row = _upsert_policy(QuotaPolicy, {"committee_id": committee.id}, actor, values)
    audit.record(actor, "quota.policy_set", "committee", committee.id, **values)
    commit_or_conflict(Conflict("配额设置正被同时修改，请重试", code="concurrent_update"))
    return stats.policy_dict(row, "committee")


def set_branch_policy(actor, branch, values):
    """Override a branch's quotas for a year."""
    row = _upsert_policy(BranchQuotaPolicy, {"branch_id": branch.id}, actor, values)
    audit.record(actor, "quota.branch_policy_set", "branch", branch.id, **values)
    commit_or_conflict(Conflict("配额设置正被同时修改，请重试", code="concurrent_update"))
    return stats.policy_dict(row, "branch")


def clear_branch_policy(actor, branch, year):
    """Drop a branch's override so the committee's quotas apply again."""
    row = db.session.scalar(select(BranchQuotaPolicy).where(BranchQuotaPolicy.branch_id == branch.id,
                                                            BranchQuotaPolicy.year == year))
    if row is not None:
        db.session.delete(row)
        audit.record(actor, "quota.branch_policy_cleared", "branch", branch.id, year=year)
        db.session.commit()
    return effective_policy(branch, year)


def _upsert_policy(model, owner, actor, values):
    filters = [getattr(model, k) == v for k, v in owner.items()] + [model.year == values["year"]]
    row = db.session.scalar(select(model).where(*filters))
    if row is None:
        row = model(**owner, year=values["year"])
        db.session.add(row)
    row.talks, row.attends, row.books = values["talks"], values["attends"], values["books"]
    row.updated_by_id = actor.id
    return row
