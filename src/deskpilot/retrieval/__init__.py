"""Retrieval: hybrid search over the index (deskpilot.index)."""
