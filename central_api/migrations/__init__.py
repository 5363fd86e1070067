"""Alembic migrations of the central API, run programmatically (`central_api.db.migrate`)."""
