"""The thin shared core: app factory, database and Redis handles, errors, clock, files."""
