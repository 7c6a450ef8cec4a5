"""The assistant's services: answer, citation check, routing, draft reply, summary, suggest, classify."""
