"""Ingestion: loaders -> clean/redact -> chunk -> ids -> embed -> upsert/delete."""
