"""Blocking SMTP submission on :mod:`smtplib`, run by the provider in a worker thread.

Exceptions are smtplib's own; the provider maps them through ``provider_failures``.
"""

from __future__ import annotations

import smtplib
import ssl

from inbox.providers.email.imap import Endpoint


def connect(endpoint: Endpoint, password: str) -> smtplib.SMTP:
    """An SMTP session, with TLS per ``endpoint.security`` and signed in when the server
    offers AUTH (a plain local relay may not)."""
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
        if endpoint.username and smtp.has_extn("auth"):
            smtp.login(endpoint.username, password)
    except BaseException:
        close(smtp)
        raise
    return smtp


def close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:  # already gone: just drop the socket
        smtp.close()


def check(endpoint: Endpoint, password: str) -> None:
    """Sign in and out: raises when the server is unreachable or refuses the credentials."""
    close(connect(endpoint, password))


def submit(endpoint: Endpoint, password: str, sender: str, to: list[str], raw: bytes) -> None:
    """Send ``raw`` to ``to``; raises when every recipient is refused or the server fails."""
    smtp = connect(endpoint, password)
    try:
        smtp.sendmail(sender, to, raw)
    finally:
        close(smtp)
