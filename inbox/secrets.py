"""Where secrets live: an interface, so that only keyring ever holds a password or token."""

from __future__ import annotations

from typing import Protocol


class SecretStore(Protocol):
    """Secrets by account id and name. The only implementation in the app wraps keyring."""

    def get(self, account_id: str, name: str) -> str | None: ...

    def set(self, account_id: str, name: str, value: str) -> None: ...

    def delete(self, account_id: str, name: str) -> None: ...


class MemorySecretStore:
    """A secret store held in memory, for tests and the demo workspace."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], str] = {}

    def get(self, account_id: str, name: str) -> str | None:
        return self._values.get((account_id, name))

    def set(self, account_id: str, name: str, value: str) -> None:
        self._values[(account_id, name)] = value

    def delete(self, account_id: str, name: str) -> None:
        self._values.pop((account_id, name), None)

    def __repr__(self) -> str:  # never show values
        return f"MemorySecretStore({len(self._values)} secrets)"


#: Every name a provider keeps in the secret store besides its form's secret fields (tokens from
#: a sign-in, their expiry): removing an account deletes all of them (an absent one is harmless).
STORED_SECRET_NAMES = (
    "password",
    "access_token",
    "refresh_token",
    "expires_at",
    "page_token",
    "user_token",
    "client_token",
    "app_secret",
    "api_key",
    "oauth_access_token",
    "oauth_refresh_token",
    "oauth_expires_at",
    "oauth_client_secret",
)
