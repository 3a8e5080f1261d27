"""Jinja templates (``*.j2``): every word the agent sends to a model or shows a user."""
