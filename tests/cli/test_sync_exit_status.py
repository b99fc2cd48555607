"""What ``inbox sync --once`` tells a cron job and its operator, against a real Dovecot: the exit
status (1 needs sign-in, 0 all fine, 3 offline), the sign-in refusal as the server's text, and
log lines that name the account (its id is not a secret) but never the password."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from tests.providers.email.servers import DovecotServer, free_port, local_account, running_dovecot
from tests.reliability.harness import Lane

pytestmark = [pytest.mark.servers, pytest.mark.timeout(180)]

WRONG = "not-the-Pa55word"


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    # No 2 s failure delay: the wrong password is the point of this test.
    with running_dovecot(extra_config="auth_failure_delay = 0\n") as server:
        yield server


def test_exit_status_and_messages_an_operator_can_act_on(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    lane = Lane(tmp_path / "lane", "cron")
    account = local_account(dovecot.port, free_port())
    lane.add_account(account, {"password": WRONG})

    refused = lane.run("sync", "--once")
    assert refused.returncode == 1  # a person must act
    assert "needs_sign_in" in refused.stdout
    said = "sign-in refused ([AUTHENTICATIONFAILED] Authentication failed.)"
    assert said in refused.stdout  # the reason column, whole
    assert "b'" not in refused.stdout + refused.stderr  # text, not a bytes repr
    assert f"account {account.id} needs sign-in: email: {said}" in refused.stderr  # the id shown

    ring = PlaintextKeyring()
    ring.file_path = str(lane.keyring_file)
    ring.set_password("inbox", f"{account.id}:password", dovecot.password)
    fine = lane.run("sync", "--once")
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "up_to_date" in fine.stdout

    dovecot.stop()
    offline = lane.run("sync", "--once")
    assert offline.returncode == 3  # try again later, offline.stdout + offline.stderr
    assert f"account {account.id} is offline" in offline.stderr
    for text in lane.log:
        assert WRONG not in text and dovecot.password not in text
