"""Deskpilot: a self-hostable retrieval-augmented assistant for customer-support helpdesks."""

__version__ = "0.1.0"
