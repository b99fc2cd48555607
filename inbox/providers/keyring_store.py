"""The app's secret store: the system keyring (service "inbox", key "<account id>:<name>").

Only this class touches ``keyring``; values never appear in its ``repr`` or its errors. Keyring
calls block, so async callers run them in an executor.
"""

from __future__ import annotations

import keyring
import keyring.errors

from inbox.errors import StoreError

SERVICE = "inbox"


class KeyringSecretStore:
    """A :class:`~inbox.secrets.SecretStore` over the system keyring."""

    def __init__(self, service: str = SERVICE) -> None:
        self._service = service

    @staticmethod
    def _key(account_id: str, name: str) -> str:
        return f"{account_id}:{name}"

    def get(self, account_id: str, name: str) -> str | None:
        try:
            return keyring.get_password(self._service, self._key(account_id, name))
        except keyring.errors.KeyringError as exc:
            raise StoreError(f"the keyring cannot be read ({type(exc).__name__})") from None

    def set(self, account_id: str, name: str, value: str) -> None:
        try:
            keyring.set_password(self._service, self._key(account_id, name), value)
        except keyring.errors.KeyringError as exc:
            raise StoreError(f"the keyring cannot be written ({type(exc).__name__})") from None

    def delete(self, account_id: str, name: str) -> None:
        try:
            keyring.delete_password(self._service, self._key(account_id, name))
        except keyring.errors.PasswordDeleteError:
            return
        except keyring.errors.KeyringError as exc:
            raise StoreError(f"the keyring cannot be written ({type(exc).__name__})") from None

    def __repr__(self) -> str:
        return f"KeyringSecretStore(service={self._service!r})"
