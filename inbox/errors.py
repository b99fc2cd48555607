"""Every error the app shows a user, and the provider failure types with their one mapping."""

from __future__ import annotations

from typing import TypeVar


class InboxError(Exception):
    """Base of the errors the app explains to its user."""


class InputError(InboxError):
    """Bad input: names the file or field and says what is wrong with it."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(InboxError):
    """The local store cannot be used (newer schema, disk full, read-only, corrupt)."""


class ProviderError(InboxError):
    """Base of what a provider may raise. Library exceptions never leave a provider."""


class AuthError(ProviderError):
    """Credentials refused, expired or revoked: the account needs sign-in. Nothing is lost."""


class TransientError(ProviderError):
    """Network down, timeout, 5xx: try again later with backoff.

    ``unsure`` is set when the request may have reached the service before the failure (the
    answer was lost): a reply that failed so is never sent again blindly ("may have been sent").
    """

    def __init__(self, message: str, *, unsure: bool = False) -> None:
        super().__init__(message)
        self.unsure = unsure


class RateLimited(TransientError):
    """The service asks us to wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """The service refused this request for good (4xx other than auth and rate limits)."""


class ProviderBug(ProviderError):
    """Something unexpected inside a provider; raised ``from`` the original exception."""


E = TypeVar("E", bound=BaseException)


def with_message(error: E, message: str) -> E:
    """A copy of ``error`` whose text is ``message``, keeping its type and every attribute.

    Wrappers that rewrite an error's text (a token scrubbed, a prefix added) use this instead
    of ``type(exc)(text)``, which drops what the outbox and the sync service decide on:
    ``TransientError.unsure`` (a reply that may have been sent must never be sent again),
    ``RateLimited.retry_after``, ``InputError.source``. Raise it ``from`` the original's cause.
    """
    clone = type(error).__new__(type(error), message)
    clone.args = (message,)
    vars(clone).update(vars(error))
    clone.__cause__ = error.__cause__
    clone.__suppress_context__ = error.__suppress_context__
    return clone
