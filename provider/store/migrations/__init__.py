"""Alembic migrations of the vault schema (run by :mod:`provider.store.migrate`)."""
