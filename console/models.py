"""Console accounts: a username and password bound to a secretary's or admin's member record.

A console login is an `auth_sessions` row of kind "console" (members.models.AuthSession), the same kind of row a
phone's token names: logout revokes it, and deactivating the member revokes it with the others.
"""
from sqlalchemy import UniqueConstraint

from core import clock
from core.db import UTCDateTime
from core.extensions import db


class ConsoleAccount(db.Model):
    """A desk login for one member; the member's role and scope are still read from the roster each request."""

    __tablename__ = "console_accounts"
    id = db.Column(db.Integer, primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False, unique=True)
    username = db.Column(db.String(64), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    # Set by an admin's create or reset (a one-time temporary password): every page asks for a new one first.
    must_change_password = db.Column(db.Boolean, nullable=False, default=False)
    last_login_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)


class ConsoleLoginFailure(db.Model):
    """Wrong passwords for one account from one address: the lockout is keyed by both.

    Someone elsewhere who knows a username can lock it out only for their own address, never the owner's.
    """

    __tablename__ = "console_login_failures"
    __table_args__ = (UniqueConstraint("account_id", "address"),)
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("console_accounts.id", ondelete="CASCADE"), nullable=False)
    address = db.Column(db.String(64), nullable=False)
    failed_count = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(UTCDateTime, nullable=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)
