"""Console accounts: a username and password bound to a secretary's or admin's member record."""
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
    failed_count = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(UTCDateTime, nullable=True)
    last_login_at = db.Column(UTCDateTime, nullable=True)
    # Bumped on every password change: sessions carry it, so a new password logs out every old session.
    session_version = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)
