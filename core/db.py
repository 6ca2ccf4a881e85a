"""Column types shared by every domain."""
from datetime import timezone

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

from core.extensions import db

# BIGINT on PostgreSQL for high-volume tables; SQLite only autoincrements INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Store aware datetimes as UTC and always hand back aware UTC, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class IdConverter(IntegerConverter):
    """The `int` path converter, bounded to what a BIGINT id can hold: a larger id is simply not found."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def dialect_insert(target):
    """An INSERT with the dialect's ON CONFLICT clauses (PostgreSQL or SQLite), for idempotent writes."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(target)
