"""A one-statement write run straight on a pooled psycopg connection in autocommit, past SQLAlchemy's execution.

SQLAlchemy's Connection.execute works out the statement's cache key, builds an execution context and a result with
its metadata on every call: about a third of a hot write's statement CPU on top of psycopg's own. Here the statement
is compiled once (by SQLAlchemy, for the engine's dialect and the given parameter names) and kept with what turns
parameters into the driver's and rows into named tuples — the same bind and result processors SQLAlchemy applies —
so a call only converts its parameters, executes and reads the rows (measured side by side in one process: 5 to 9 %
of an autosave's, open's, finish's or submit's CPU). The driver's errors come out as SQLAlchemy's (an IntegrityError
is one), a lost connection is dropped from the pool as SQLAlchemy would, the pool's checkout and checkin events run
(core.pool), and the engine's before/after_cursor_execute listeners hear the statement as they do any other (with no
execution context). For the statements that are built once (module constants, core.db.built_once): a statement
needing more than the above (defaults computed in Python, expanding parameters), or one past the first few hundred
seen, runs through SQLAlchemy as before.
"""
from collections import namedtuple

from sqlalchemy import exc

_compiled = {}  # (id(statement), dialect, parameter names) → (statement, kept so its id stays its own; Direct or None)
_KEPT = 256


class _Connection:
    """What an engine's before_cursor_execute listener is handed as `conn`: its pooled connection."""

    def __init__(self, pooled):
        self.connection = pooled


class Direct:
    """A statement compiled for one dialect and set of parameter names, with SQLAlchemy's processors."""

    def __init__(self, compiled, dialect):
        self.sql = compiled.string
        self.construct = compiled.construct_params
        self.processors = compiled._bind_processors
        self.escaped = compiled.escaped_bind_names or {}
        columns = compiled._result_columns or []  # none for a text() that declares none: the cursor names them
        self.row = namedtuple("Row", [c[0] for c in columns], rename=True) if columns else None
        self.loaders = [c[3]._cached_result_processor(dialect, None) for c in columns]

    def parameters(self, given):
        processors, escaped = self.processors, self.escaped
        return {escaped.get(k, k): (processors[k](v) if k in processors else v)
                for k, v in self.construct(given, escape_names=False).items()}

    def rows(self, fetched, description):
        if self.row is None:
            self.row = namedtuple("Row", [column.name for column in description], rename=True)
            self.loaders = [None] * len(description)
        loaders = self.loaders
        if not any(loaders):
            return [self.row._make(r) for r in fetched]
        return [self.row._make(load(v) if load else v for load, v in zip(loaders, r)) for r in fetched]


def _direct(engine, stmt, params):
    names = tuple(sorted(params))
    cache_key = (id(stmt), engine.dialect.name, names)
    found = _compiled.get(cache_key)
    if found is None:
        if len(_compiled) >= _KEPT:  # not a statement built once: SQLAlchemy's own cache serves it
            return None
        compiled = stmt.compile(dialect=engine.dialect, column_keys=list(names))
        plain = not (compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params
                     or compiled.post_compile_params or compiled.positional or compiled.schema_translate_map)
        found = _compiled[cache_key] = (stmt, Direct(compiled, engine.dialect) if plain else None)
    return found[1]


def run(engine, stmt, params):
    """The rows of `stmt` run alone (autocommit) on a pooled connection, as named tuples."""
    direct = _direct(engine, stmt, params)
    if direct is None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return connection.execute(stmt, params).all()
    parameters = direct.parameters(params)
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    cursor = None
    try:
        driver.autocommit = True
        cursor = driver.cursor()
        for listen in engine.dispatch.before_cursor_execute:
            listen(_Connection(pooled), cursor, direct.sql, parameters, None, False)
        cursor.execute(direct.sql, parameters)
        for listen in engine.dispatch.after_cursor_execute:
            listen(_Connection(pooled), cursor, direct.sql, parameters, None, False)
        description = cursor.description
        fetched = cursor.fetchall() if description is not None else None
    except engine.dialect.loaded_dbapi.Error as error:
        if engine.dialect.is_disconnect(error, driver, cursor):  # as SQLAlchemy does: this one and all as old
            engine.pool._invalidate(pooled, error)
        raise exc.DBAPIError.instance(direct.sql, parameters, error, engine.dialect.loaded_dbapi.Error,
                                      dialect=engine.dialect) from error
    finally:
        if cursor is not None:
            cursor.close()
        if not driver.closed:
            driver.autocommit = False
        pooled.close()
    return direct.rows(fetched, description) if fetched is not None else []
