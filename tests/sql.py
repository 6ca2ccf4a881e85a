"""The SQL a block of a test sends, as the database hears it."""
import contextlib

from sqlalchemy import event

from core.extensions import db


@contextlib.contextmanager
def statements(autocommitted=None, rows=None):
    """The statements the block sends; `autocommitted`, a list, gets each one's driver connection's autocommit flag
    (psycopg's: True when it ran alone, outside a transaction; SQLite's connections have none: None); `rows`, a list,
    gets how many parameter sets each was sent with (an executemany's: all of them, in one round trip on psycopg)."""
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
        if autocommitted is not None:
            autocommitted.append(getattr(conn.connection.dbapi_connection, "autocommit", None))
        if rows is not None:
            rows.append(len(parameters) if executemany else 1)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


def alone_flag():
    """What `statements` records for a statement that ran alone (core.db.begin_alone) on this database."""
    return True if db.engine.dialect.name == "postgresql" else None


def as_a_request_starts():
    """Leave the test's session as a request's starts: no transaction and nothing in it (the test's own session spans
    its requests, so the request would otherwise find the member it loaded earlier already in it)."""
    db.session.rollback()
    db.session.expunge_all()
