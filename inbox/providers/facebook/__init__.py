"""The Facebook Page channel: Messenger conversations and post comments via the Graph API."""

from inbox.providers.facebook.parse import import_file, parse_payload
from inbox.providers.facebook.provider import FacebookProvider, messenger_window_remaining

__all__ = ["FacebookProvider", "import_file", "messenger_window_remaining", "parse_payload"]
