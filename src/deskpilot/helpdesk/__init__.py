"""Helpdesk records: conversations, tickets, escalations, feedback, ingestion jobs."""
