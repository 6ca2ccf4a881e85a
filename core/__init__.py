"""The thin shared core: app factory, database and Redis handles, errors, clock, files."""
from core import schemas as _schemas

# Before any room declares a schema or a view: Chinese messages, and the bounded JSON body parser.
_schemas.install()
