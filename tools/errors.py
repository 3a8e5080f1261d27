"""Errors a user can cause in the tools layer."""


class RestorationError(ValueError):
    """An image, weights file or setting the restoration tool cannot use; the message says what to do."""


class OutputPathError(ValueError):
    """An output path that cannot be written (a file where a folder is needed, a folder that cannot be created)."""
