"""Errors a person (or a calling system) can cause in consent, each with a message for them."""

from retention.exceptions import NotPermitted  # noqa: F401  (one permission error for the project)


class ConsentError(Exception):
    """Refused input or step; the message is translated and shown as is. Nothing was changed.

    `code` is stable for machines (the API's error shape); `field` names the input at fault.
    """

    def __init__(self, message, *, code: str = "invalid", field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
