"""The account the command lines set up (desktop and team server share the rule)."""

from __future__ import annotations

import pytest

from inbox.errors import InputError
from inbox.models import Channel
from inbox.sync.account_setup import new_account, settings_from


def test_settings_are_key_value_pairs_and_a_missing_key_is_refused_by_name() -> None:
    assert settings_from(["host = imap.shop.test", "port=993", "note=a=b"]) == {
        "host": "imap.shop.test", "port": "993", "note": "a=b"}  # fmt: skip
    for bad in ("host", "=value", " =x"):
        with pytest.raises(InputError) as caught:
            settings_from([bad])
        assert caught.value.source == "--set" and bad in str(caught.value)


def test_the_channel_identity_is_one_of_the_accounts_own_keys() -> None:
    mailbox = new_account(Channel.EMAIL, "Support@Shop.test", None, ["sav@shop.test"], {})
    assert (mailbox.id, mailbox.name) == ("email:Support@Shop.test", "Support@Shop.test")
    assert mailbox.own_keys == {"support@shop.test", "sav@shop.test"}
    x = new_account(Channel.TWITTER, "1234", "Brand on X", [], {})
    assert (x.id, x.name, x.own_keys) == ("twitter:1234", "Brand on X", frozenset({"1234"}))
    form = new_account(Channel.WEBFORM, "contact", None, [], {"secret_path": "x"})
    assert form.own_keys == frozenset() and form.settings == {"secret_path": "x"}
