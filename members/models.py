"""The organisation tree (committee → branch → group), its people, and their login sessions."""
from sqlalchemy import CheckConstraint, Index, UniqueConstraint

from core import clock
from core.db import UTCDateTime
from core.extensions import db

ROLES = ("member", "secretary", "admin")
ROLE_LABELS = {"member": "党员", "secretary": "支部书记", "admin": "党委管理员"}


class Committee(db.Model):
    """A Party committee (党委); committees may nest, and `path` ('/1/7/') makes a subtree one LIKE."""

    __tablename__ = "committees"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True)
    parent_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=True)
    path = db.Column(db.String(255), nullable=False, default="/", index=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)


class Branch(db.Model):
    """A Party branch (党支部)."""

    __tablename__ = "branches"
    __table_args__ = (UniqueConstraint("committee_id", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    committee_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=False, index=True)
    name = db.Column(db.String(100), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    committee = db.relationship(Committee, lazy="joined")


class PartyGroup(db.Model):
    """A Party group (党小组) inside a branch."""

    __tablename__ = "party_groups"
    __table_args__ = (UniqueConstraint("branch_id", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=False, index=True)
    name = db.Column(db.String(100), nullable=False)


class Member(db.Model):
    """A Party member; a secretary manages their own branch, an admin their committee's subtree."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'secretary', 'admin')", name="role_known"),
        Index("ix_members_branch_active", "branch_id", "active"),
    )
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False)
    phone = db.Column(db.String(20), nullable=False, unique=True)
    committee_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=False, index=True)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=True)
    group_id = db.Column(db.Integer, db.ForeignKey("party_groups.id"), nullable=True)
    role = db.Column(db.String(16), nullable=False, default="member")
    active = db.Column(db.Boolean, nullable=False, default=True)
    joined_on = db.Column(db.Date, nullable=True)
    openid = db.Column(db.String(64), nullable=True, unique=True)
    unionid = db.Column(db.String(64), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)
    # Advanced, in the same transaction, by whatever can make a signed token's claims untrue (members.authlog).
    auth_version = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    auth_changed_at = db.Column(UTCDateTime, nullable=True, index=True)

    branch = db.relationship(Branch, lazy="joined")
    group = db.relationship(PartyGroup, lazy="joined")
    committee = db.relationship(Committee, lazy="joined")


class AuthSession(db.Model):
    """A login: the token names it, so logout and deactivation can revoke it."""

    __tablename__ = "auth_sessions"
    id = db.Column(db.String(32), primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False, index=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    expires_at = db.Column(UTCDateTime, nullable=False)
    revoked_at = db.Column(UTCDateTime, nullable=True)
    kind = db.Column(db.String(16), nullable=False, default="wechat")
