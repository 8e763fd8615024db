"""Alembic migrations of the SQL metadata store; applied automatically when a store is opened."""
