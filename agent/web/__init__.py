"""The web faces of cnaps-agent: the HTTP API, the chat page, and what they share (limits, worker pool, job store)."""
