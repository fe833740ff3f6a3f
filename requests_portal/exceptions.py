"""Errors a person can cause in the request workflow, each with a message for that person."""

from retention.exceptions import NotPermitted  # noqa: F401  (one permission error for the project)


class RequestError(Exception):
    """A refused step; the message is translated and shown as is. Nothing was changed."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class TransitionRefused(RequestError):
    """The request is not in a state where this step can be taken."""


class CodeRefused(RequestError):
    """A wrong, used or expired verification code, or a code asked again too soon."""
