"""Every error the app shows a user, and the provider failure types with their one mapping."""

from __future__ import annotations


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
