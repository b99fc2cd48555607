"""A channel package's parsers and helpers come without its live provider's HTTP client.

The composer counts a post's length (``inbox.providers.twitter.length``) while the window is being
built, and each parser worker of ``inbox import`` reads one channel's parser: importing the package
for them must not bring ``httpx`` (70 ms with what it imports). The names the packages export
still resolve, to the same objects.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from inbox.providers.twitter import MAX_TWEET_LENGTH, weighted_length, parse_payload
from inbox.providers.facebook import parse_payload as facebook_parse
from inbox.providers.email import iter_mail
weighted_length("bonjour https://example.com")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "httpx" or m.endswith(".provider"))))
"""


def test_parsers_and_length_import_no_provider() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_exported_names_are_the_modules_own() -> None:
    import inbox.providers.facebook as facebook
    import inbox.providers.twitter as twitter
    from inbox.providers.facebook.provider import FacebookProvider, messenger_window_remaining
    from inbox.providers.twitter.length import weighted_length
    from inbox.providers.twitter.provider import XProvider

    assert twitter.XProvider is XProvider and twitter.weighted_length is weighted_length
    assert facebook.FacebookProvider is FacebookProvider
    assert facebook.messenger_window_remaining is messenger_window_remaining
    for package in (twitter, facebook):
        for name in package.__all__:
            assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError, match="inbox.providers.twitter.*no attribute 'Nope'"):
        twitter.Nope  # noqa: B018
