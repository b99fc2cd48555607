"""The X (Twitter) channel: payload parsing, OAuth 2.0 sign-in and the X API v2 provider."""

from inbox.providers.twitter.length import MAX_TWEET_LENGTH, weighted_length
from inbox.providers.twitter.parse import import_file, parse_payload
from inbox.providers.twitter.provider import XProvider

__all__ = ["MAX_TWEET_LENGTH", "XProvider", "import_file", "parse_payload", "weighted_length"]
