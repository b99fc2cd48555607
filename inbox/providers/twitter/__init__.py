"""The X (Twitter) channel: payload parsing, OAuth 2.0 sign-in and the X API v2 provider."""

from inbox.providers.twitter.parse import import_file, parse_payload

__all__ = ["import_file", "parse_payload"]
