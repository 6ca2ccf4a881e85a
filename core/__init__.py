"""The thin shared core: app factory, database and Redis handles, errors, clock, files."""
# Before any room declares a schema or a view: Chinese messages, and the bounded JSON body parser (core.schemas).
from core import schemas  # noqa: F401
