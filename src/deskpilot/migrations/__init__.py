"""Alembic schema migrations (`deskpilot db upgrade`; the service and CLI upgrade on start)."""
