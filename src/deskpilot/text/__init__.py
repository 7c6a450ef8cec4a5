"""Text utilities shared by ingestion and the assistant: token counting, language detection."""
