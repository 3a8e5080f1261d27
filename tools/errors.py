"""Errors a user can cause in the tools layer."""


class RestorationError(ValueError):
    """An image, weights file or setting the restoration tool cannot use; the message says what to do."""
