"""Real Dovecot and aiosmtpd fixtures for the e-mail tests (see servers.py)."""

from tests.providers.email.servers import dovecot_server, smtp_server

__all__ = ["dovecot_server", "smtp_server"]
