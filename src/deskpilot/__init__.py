"""Deskpilot: a self-hostable retrieval-augmented assistant for customer-support helpdesks."""

import os

__version__ = "0.1.0"

# Third-party telemetry stays off unless the environment says otherwise: set when the package is imported, before
# Chroma, ragas or unstructured are (each reads its variable at import or first use, and would otherwise phone home
# or wait on a telemetry URL with no network).
for _name, _value in (("ANONYMIZED_TELEMETRY", "False"), ("RAGAS_DO_NOT_TRACK", "true"), ("DO_NOT_TRACK", "1")):
    os.environ.setdefault(_name, _value)
