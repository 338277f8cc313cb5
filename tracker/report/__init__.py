"""Reports: session summaries (text and JSON)."""
