"""Errors a person can cause in retention, each with a message for that person."""


class RetentionError(Exception):
    """A refused step; the message is translated and shown as is. Nothing was changed."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class ErasureBlocked(RetentionError):
    """A legal hold covers what was to be erased."""


class NotPermitted(RetentionError):
    """The person acting lacks the permission the step needs."""
