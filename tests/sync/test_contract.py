"""Optional provider abilities are Protocols of the contract: each connector has exactly the ones
it declares, and the app asks for them with ``isinstance`` (no cast to ``Any``)."""

from __future__ import annotations

import pytest

from inbox.providers.registry import KINDS, provider_class
from inbox.sync.contract import SupportsBrowserSignIn, SupportsDeliveryCheck, SupportsPush

ABILITIES = (SupportsPush, SupportsDeliveryCheck, SupportsBrowserSignIn)
EXPECTED = {
    "imap": {SupportsPush, SupportsDeliveryCheck},  # IDLE, the Sent folder
    "x": {SupportsBrowserSignIn},  # OAuth 2.0 with PKCE
    "facebook": set(),
    "webform-json": set(),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_connector_has_the_abilities_it_declares(kind: str) -> None:
    cls = provider_class(kind)
    assert {ability for ability in ABILITIES if issubclass(cls, ability)} == EXPECTED[kind]
