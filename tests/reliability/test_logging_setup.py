"""Logs redact tokens, passwords and addresses by default; INBOX_DEBUG=1 keeps addresses only."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from inbox.logging_setup import RedactingFilter, configure_logging, debug_enabled, redact

SECRETS = [
    ("Authorization: Bearer AT-abcDEF123456789", "AT-abcDEF123456789"),
    (
        "GET https://graph.example/me?access_token=EAAPage-SECRET-token-7f3a9c&x=1",
        "EAAPage-SECRET-token-7f3a9c",
    ),
    ('{"refresh_token": "RT-9x8y7z6w5v", "ok": 1}', "RT-9x8y7z6w5v"),
    ("login failed password=s3cret-Pa55 for user", "s3cret-Pa55"),
    ("app token 1234567890|client-SECRET-abc leaked", "client-SECRET-abc"),
    ("client_secret: hunter2hunter2", "hunter2hunter2"),
]


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging({}, handler=logging.StreamHandler(stream))
    yield logging.getLogger("inbox.test"), stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(("line", "secret"), SECRETS)
def test_secrets_never_reach_the_log(
    captured: tuple[logging.Logger, io.StringIO], line: str, secret: str
) -> None:
    log, stream = captured
    log.warning("request: %s", line)
    assert secret not in stream.getvalue() and "[redacted]" in stream.getvalue()


def test_addresses_are_hidden_unless_debug() -> None:
    text = "reply to lea.martin@customer.test failed"
    assert "lea.martin@customer.test" not in redact(text)
    assert redact(text, personal=False) == text
    assert "s3cret" not in redact("password=s3cret", personal=False)  # debug keeps secrets out


def test_exception_text_is_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = captured
    try:
        raise RuntimeError("token=abcdef123456 for lea@customer.test")
    except RuntimeError:
        log.exception("failed")
    assert "abcdef123456" not in stream.getvalue()
    assert "lea@customer.test" not in stream.getvalue() and "RuntimeError" in stream.getvalue()


def test_debug_switch() -> None:
    assert debug_enabled({"INBOX_DEBUG": "1"}) and not debug_enabled({})
    assert not debug_enabled({"INBOX_DEBUG": "0"}) and not debug_enabled({"INBOX_DEBUG": "no"})
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging({"INBOX_DEBUG": "1"}, handler=logging.StreamHandler(stream))
    try:
        assert root.level == logging.DEBUG
        logging.getLogger("inbox.test").debug("to lea@customer.test with Bearer AT-123456789")
        out = stream.getvalue()
        assert "lea@customer.test" in out and "AT-123456789" not in out
        again = configure_logging({}, handler=logging.StreamHandler(io.StringIO()))
        assert handler not in root.handlers  # configuring twice replaces, never duplicates
        root.removeHandler(again)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_broken_format_string_is_still_logged_and_redacted() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s password=%s", ("a",), None)
    RedactingFilter().filter(record)
    assert record.getMessage().startswith("%s %s password=[redacted]")


def test_account_and_outbox_ids_are_shown_customers_are_not(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    """An operator reads which mailbox is down and which reply to decide; customers stay hidden."""
    log, stream = captured
    item = "inbox.0123456789abcdef0123456789abcdef@shop.example"
    log.warning("account %s is offline: %s", "email:support@shop.example", "password=s3cret-x")
    log.warning("reply %s to %s may have been sent", item, "lea@customer.test")
    text = stream.getvalue()
    assert "account email:support@shop.example is offline" in text
    assert f"reply {item} to [address] may have been sent" in text
    assert "s3cret-x" not in text and "lea@customer.test" not in text
