"""Errors a user can cause in the knowledge layer."""


class BundleError(ValueError):
    """A question bundle that cannot be read; the message names the line and what was expected."""
