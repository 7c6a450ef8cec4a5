"""Integrations with helpdesk systems: vendor exports, the new-ticket webhook, and actions on other services."""
