"""Study material, who may see it, who read it, and the append-only points ledger."""
from sqlalchemy import CheckConstraint, Index, UniqueConstraint, event, text

from core import clock
from core.db import BigId, UTCDateTime
from core.extensions import db

KINDS = ("article", "video", "document")
KIND_LABELS = {"article": "文章", "video": "视频", "document": "文件"}
STATUSES = ("draft", "published", "withdrawn")
AUDIENCES = ("committee", "branches")


class Material(db.Model):
    """A study item for one Asia/Shanghai day; the audience is expanded into material_audience rows."""

    __tablename__ = "materials"
    __table_args__ = (
        CheckConstraint("kind IN ('article', 'video', 'document')", name="kind_known"),
        CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name="status_known"),
        CheckConstraint("estimated_minutes >= 1", name="minutes_positive"),
        Index("ix_materials_committee_day", "committee_id", "day"),
        Index("ix_materials_status_day", "status", "day"),
    )
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    source = db.Column(db.String(100), nullable=False, default="")
    url = db.Column(db.String(500), nullable=True)
    summary = db.Column(db.String(1000), nullable=False, default="")
    body = db.Column(db.Text, nullable=False, default="")  # sanitized HTML, safe to hand to a phone
    kind = db.Column(db.String(16), nullable=False, default="article")
    estimated_minutes = db.Column(db.Integer, nullable=False, default=5)
    # ",tag1,tag2," so one LIKE '%,tag,%' finds a tag on every database
    tags_text = db.Column(db.String(500), nullable=False, default=",")
    day = db.Column(db.Date, nullable=False)
    audience = db.Column(db.String(16), nullable=False, default="branches")
    committee_id = db.Column(db.Integer, db.ForeignKey("committees.id"), nullable=False)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), nullable=True, index=True)
    author_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="draft")
    published_at = db.Column(UTCDateTime, nullable=True)
    withdrawn_at = db.Column(UTCDateTime, nullable=True)
    withdrawn_reason = db.Column(db.String(500), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)

    @property
    def tags(self):
        return [t for t in self.tags_text.split(",") if t]

    @tags.setter
    def tags(self, values):
        self.tags_text = "," + "".join(f"{t}," for t in values)


class MaterialAudience(db.Model):
    """One branch that should study a material (a committee audience is expanded to its branches)."""

    __tablename__ = "material_audience"
    material_id = db.Column(db.Integer, db.ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), primary_key=True, index=True)


class Reading(db.Model):
    """A member's reading of one material: first open, last finish, server-measured seconds, completion."""

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("member_id", "material_id"),
        # Partial, so that it cannot serve a member's own lookup (member_id, material_id): PostgreSQL's statistics
        # never know that today's material is the hot one (no row at the last ANALYZE), and it picked this index
        # and filtered every one of today's readings for each open and finish (found by the soak, README).
        Index("ix_readings_material_completed", "material_id", "completed_at",
              postgresql_where=text("completed_at IS NOT NULL"), sqlite_where=text("completed_at IS NOT NULL")),
        Index("ix_readings_member_day", "member_id", "day"),
    )
    id = db.Column(BigId, primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    material_id = db.Column(db.Integer, db.ForeignKey("materials.id"), nullable=False)
    day = db.Column(db.Date, nullable=False)  # the material's day, copied so history and stats need no join
    opened_at = db.Column(UTCDateTime, nullable=False)
    finished_at = db.Column(UTCDateTime, nullable=True)
    seconds = db.Column(db.Integer, nullable=False, default=0)
    completed_at = db.Column(UTCDateTime, nullable=True)
    completed_day = db.Column(db.Date, nullable=True)  # Asia/Shanghai day of completed_at, for streaks


class PointEntry(db.Model):
    """One line of the points ledger; append-only, one row per earning event (event_key is unique)."""

    __tablename__ = "point_entries"
    __table_args__ = (
        Index("ix_point_entries_member_rule_day", "member_id", "rule", "day"),
        Index("ix_point_entries_day_member", "day", "member_id"),
    )
    id = db.Column(BigId, primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False)
    rule = db.Column(db.String(32), nullable=False)
    points = db.Column(db.Integer, nullable=False)
    event_key = db.Column(db.String(160), nullable=False, unique=True)
    occurred_at = db.Column(UTCDateTime, nullable=False)
    day = db.Column(db.Date, nullable=False)  # Asia/Shanghai day of occurred_at: caps and boards use it
    meta = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)


@event.listens_for(PointEntry, "before_update")
@event.listens_for(PointEntry, "before_delete")
def _refuse_change(*_):
    raise RuntimeError("point entries are append-only; revoke() appends a negative row")


class ReadingDayRollup(db.Model):
    """Completed readings per branch and local day, as the dashboards count them (learning/rollups.py keeps it)."""

    __tablename__ = "reading_day_rollups"
    __table_args__ = (Index("ix_reading_day_rollups_day_branch", "day", "branch_id"),)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), primary_key=True)
    day = db.Column(db.Date, primary_key=True)
    completed = db.Column(db.Integer, nullable=False, default=0)
    readers = db.Column(db.Integer, nullable=False, default=0)  # distinct members with a completion that day


class ReadingWeekRollup(db.Model):
    """Distinct members per branch with a completed reading in an ISO week (Monday's date)."""

    __tablename__ = "reading_week_rollups"
    __table_args__ = (Index("ix_reading_week_rollups_monday_branch", "monday", "branch_id"),)
    branch_id = db.Column(db.Integer, db.ForeignKey("branches.id"), primary_key=True)
    monday = db.Column(db.Date, primary_key=True)
    readers = db.Column(db.Integer, nullable=False, default=0)


class LeaderboardMiss(db.Model):
    """A leaderboard whose Redis update failed after its points were committed: it is rebuilt at its next read.

    Redis cannot be told while it is down, and a timed-out update may still be applied when it resumes, so the mark
    lives here; misses counts the failures, so a rebuild clears only the misses it has seen.
    """

    __tablename__ = "leaderboard_misses"
    board_key = db.Column(db.String(120), primary_key=True)
    misses = db.Column(db.Integer, nullable=False, default=1)
