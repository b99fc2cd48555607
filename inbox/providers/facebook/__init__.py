"""The Facebook Page channel: Messenger conversations and post comments via the Graph API."""
