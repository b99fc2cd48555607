"""What Settings and ``inbox account add`` ask for to set up a mailbox (IMAP and SMTP servers,
sign-in by password or OAuth 2.0, folders, how far back the first sync reads)."""

from __future__ import annotations

from inbox.models import Channel
from inbox.providers.email import oauth
from inbox.sync.contract import FormField, ProviderInfo

EMAIL_SETUP = ProviderInfo(
    kind="imap",
    channel=Channel.EMAIL,
    display_name="E-mail (IMAP/SMTP)",
    fields=(
        FormField("imap_host", "IMAP server"),
        FormField("imap_port", "IMAP port", kind="int", default="993"),
        FormField(
            "imap_security", "IMAP security", default="ssl", help="ssl, starttls or none"
        ),
        FormField("smtp_host", "SMTP server"),
        FormField("smtp_port", "SMTP port", kind="int", default="587"),
        FormField(
            "smtp_security", "SMTP security", default="starttls", help="starttls, ssl or none"
        ),
        FormField("username", "User name"),
        FormField(
            "auth", "Sign-in method", default="password", help="password or oauth2 (XOAUTH2 token)"
        ),
        FormField(
            "password",
            "Password",
            secret=True,
            kind="password",
            required=False,
            help="needed with sign-in method password",
            applies_when=("auth", "password"),
        ),
        FormField(
            oauth.ACCESS_TOKEN,
            "OAuth access token",
            secret=True,
            kind="password",
            required=False,
            help="needed with sign-in method oauth2",
            applies_when=("auth", "oauth2"),
        ),
        FormField(
            oauth.REFRESH_TOKEN,
            "OAuth refresh token",
            secret=True,
            kind="password",
            required=False,
            applies_when=("auth", "oauth2"),
        ),
        FormField(
            "oauth_token_url",
            "OAuth token URL",
            kind="url",
            required=False,
            help="to refresh the token, e.g. https://oauth2.googleapis.com/token",
        ),
        FormField("oauth_client_id", "OAuth client id", required=False),
        FormField(
            oauth.CLIENT_SECRET,
            "OAuth client secret",
            secret=True,
            kind="password",
            required=False,
            applies_when=("auth", "oauth2"),
        ),
        FormField("sent_folder", "Sent folder", default="Sent", required=False),
        FormField(
            "initial_days",
            "Days to fetch at first sync",
            kind="int",
            default="30",
            required=False,
        ),
    ),
    min_poll_interval=60.0,
)
