"""PostgreSQL's pooled connections are checked before use only when they have sat idle.

`pool_pre_ping` checked every checkout: one more round trip on every request, hot reads included. A connection in
steady use is known good, since it has just served a request. One idle for DB_PING_IDLE_SECONDS or longer (the
database may have restarted or dropped it meanwhile) is pinged first, and a dead one is replaced before the request
sees it: SQLAlchemy's "pessimistic disconnect handling" recipe, with the idle test added. A connection that dies
between two close requests fails its request with core.errors' clean 503, and the pool then drops every connection
as old as it.
"""
import time

from sqlalchemy import event, exc

from core.extensions import db


def init_app(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return  # a file: nothing to drop the connection
    idle = app.config["DB_PING_IDLE_SECONDS"]
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the driver's own error for a dead socket
            raise exc.DisconnectionError("idle connection dropped") from error
        if not alive:
            raise exc.DisconnectionError("idle connection dropped")
