"""Blocking SMTP submission on :mod:`smtplib`, run by the provider in a worker thread.

Exceptions are smtplib's own; the provider maps them through ``provider_failures``.
"""

from __future__ import annotations

import smtplib
import ssl

from inbox.errors import PermanentError
from inbox.providers.email.imap import Endpoint
from inbox.providers.email.oauth import SERVICE, sasl_string


def connect(endpoint: Endpoint, password: str, *, oauth: bool = False) -> smtplib.SMTP:
    """An SMTP session, with TLS per ``endpoint.security`` and signed in when the server
    offers AUTH (a plain local relay may not). With ``oauth``, ``password`` is an OAuth 2.0
    access token and the sign-in is ``AUTH XOAUTH2``, which the server must offer."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if endpoint.security == "ssl":
        smtp = smtplib.SMTP_SSL(
            endpoint.host, endpoint.port, context=context, timeout=endpoint.timeout
        )
    else:
        smtp = smtplib.SMTP(endpoint.host, endpoint.port, timeout=endpoint.timeout)
    try:
        smtp.ehlo()
        if endpoint.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if oauth:
            _xoauth2(smtp, endpoint.username, password)
        elif endpoint.username and smtp.has_extn("auth"):
            smtp.login(endpoint.username, password)
    except BaseException:
        close(smtp)
        raise
    return smtp


def _xoauth2(smtp: smtplib.SMTP, username: str, token: str) -> None:
    """``AUTH XOAUTH2`` with the initial response. A refusing server sends an error challenge
    (334, JSON in base64) and waits for an empty line before its 535; smtplib raises
    SMTPAuthenticationError then."""
    if "XOAUTH2" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise PermanentError(
            f"{SERVICE}: the SMTP server does not offer XOAUTH2 sign-in (no AUTH XOAUTH2);"
            " use auth=password for this account"
        )
    initial = sasl_string(username, token).decode()

    def answer(challenge: bytes | None = None) -> str:
        return initial if challenge is None else ""

    smtp.auth("XOAUTH2", answer, initial_response_ok=True)


def close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:  # already gone: just drop the socket
        smtp.close()


def check(endpoint: Endpoint, password: str, *, oauth: bool = False) -> None:
    """Sign in and out: raises when the server is unreachable or refuses the credentials."""
    close(connect(endpoint, password, oauth=oauth))


def submit(
    endpoint: Endpoint,
    password: str,
    sender: str,
    to: list[str],
    raw: bytes,
    *,
    oauth: bool = False,
) -> None:
    """Send ``raw`` to ``to``; raises when every recipient is refused or the server fails."""
    smtp = connect(endpoint, password, oauth=oauth)
    try:
        smtp.sendmail(sender, to, raw)
    finally:
        close(smtp)
