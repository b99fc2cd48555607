"""Commands of the sync engine and the outbox: ``sync``, ``outbox`` (``resend``, ``drop``,
``mark-sent``), ``reply``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from inbox.cli.commands import _add, open_store
from inbox.cli.output import emit_json, iso, table
from inbox.errors import InputError
from inbox.models import Account, OutboxItem, OutboxState, Status
from inbox.providers.registry import build_provider
from inbox.replies.order import Hold, holds
from inbox.replies.outbox import Outbox
from inbox.safe_text import one_line
from inbox.secrets import SecretStore
from inbox.store.notices import last_inbound_at
from inbox.store.outbox_store import OPEN_STATES
from inbox.store.repository import Store
from inbox.sync.contract import Provider
from inbox.sync.service import DOWN_WORDS, AccountState, SyncService, state_for_error

if TYPE_CHECKING:
    import httpx

    Factories = dict[str, Callable[[Account, SecretStore, httpx.AsyncClient], Provider]]

AGENT = "cli"
log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = _add(sub, "sync", cmd_sync, "fetch every account and send queued replies")
    p.add_argument("--once", action="store_true", help="one pass (every page, the outbox once)")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EXIT_STATUS
    p = _add(
        sub,
        "outbox",
        cmd_outbox,
        "replies not sent yet: queued, failed, may have been sent",
        json_flag=True,
    )
    p.add_argument("--all", action="store_true", help="include sent replies")
    ob = p.add_subparsers(dest="outbox_command")
    r = _add(ob, "resend", cmd_outbox_resend, "send a failed or 'may have been sent' reply again")
    r.add_argument("id", help="the outbox id (or its unique beginning)")
    d = _add(
        ob, "drop", cmd_outbox_drop, "give up on an unsent reply (removed from its conversation)"
    )
    d.add_argument("id", help="the outbox id (or its unique beginning)")
    m = _add(
        ob,
        "mark-sent",
        cmd_outbox_mark_sent,
        "a failed or 'may have been sent' reply did go out: count it as sent, never send it again",
    )
    m.add_argument("id", help="the outbox id (or its unique beginning)")
    p = _add(
        sub, "reply", cmd_reply, "queue a reply on the conversation's channel; prints its outbox id"
    )
    p.add_argument("conversation_id", type=int)
    p.add_argument("--text", required=True, help="the reply's text")
    p.add_argument("--note", action="store_true", help="a private note: stored, never sent")
    p.add_argument("--dm", action="store_true", help="X: answer by direct message (move to DM)")
    p.add_argument(
        "--status", choices=[Status.PENDING.value, Status.SOLVED.value], help="then set the status"
    )


#: ``inbox sync --once`` exit statuses, for cron jobs and scripts (also in ``--help``).
EXIT_OK, EXIT_NEEDS_A_PERSON, EXIT_USAGE, EXIT_TRY_LATER = 0, 1, 2, 3
EXIT_STATUS = """\
exit status of --once (the most serious that applies):
  0  every account is up to date; no reply failed or waits for a decision
  1  a person must act: an account needs sign-in or is in error, or a reply
     failed or may have been sent (inbox outbox; decide it with
     inbox outbox mark-sent|resend|drop ID)
  2  the command itself failed (bad arguments, store unreadable)
  3  nothing to fix, try again later: an account is offline or rate limited
     (its replies wait in the outbox)
"""


def _now() -> datetime:
    return datetime.now(UTC)


def _outbox(store: Store) -> Outbox:
    from inbox.replies.outbox import Outbox

    return Outbox(store, clock=_now)


# -- inbox sync -----------------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    import asyncio

    from inbox.providers.keyring_store import KeyringSecretStore

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    store = open_store(args)
    try:
        return asyncio.run(run_sync(store, once=args.once, secrets=KeyringSecretStore()))
    finally:
        store.close()


async def run_sync(
    store: Store,
    *,
    once: bool,
    secrets: SecretStore,
    factories: Factories | None = None,
    timeout: httpx.Timeout | None = None,
) -> int:
    """Build and enter every account's provider with one shared client, then run the engine.

    With ``once``: print each account's state and return the exit status ``EXIT_STATUS``
    describes (1 needs a person, 3 try again later, 0 all fine).
    """
    import asyncio
    import contextlib
    import signal

    from inbox.app.http import client_for
    from inbox.errors import InboxError
    from inbox.sync.service import AccountState

    broken: dict[str, tuple[AccountState, str]] = {}
    async with (
        client_for(timeout) as http,
        contextlib.AsyncExitStack() as stack,
    ):
        providers: list[Provider] = []
        unavailable: dict[str, InboxError] = {}
        for account in store.accounts():
            try:
                provider = build_provider(
                    account,
                    secrets,
                    http,
                    factories=factories,
                    last_inbound=lambda d: last_inbound_at(store, d.conversation_id),
                )
                providers.append(await stack.enter_async_context(provider))
            except InboxError as exc:
                state = state_for_error(exc)
                broken[account.id] = (state, str(exc))
                unavailable[account.id] = exc  # the service records the state: one owner
                log.warning("account %s %s: %s", account.id, DOWN_WORDS[state], exc)
        service = SyncService(store, providers)
        for account_id, error in unavailable.items():
            await service.unavailable(account_id, error)  # the service records every state
        if not once:
            loop = asyncio.get_running_loop()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGTERM, service.stop)
            await service.run()
            return 0
        statuses, report = await service.sync_once()
    rows = [[s.account_id, s.state.value, s.reason] for s in statuses]
    rows += [[account_id, state.value, reason] for account_id, (state, reason) in broken.items()]
    print(table(sorted(rows), ["account", "state", "reason"]))
    print(
        f"outbox: {report.sent} sent, {report.waiting} waiting, {report.failed} failed, "
        f"{report.uncertain} may have been sent"
    )
    states = {s.state for s in statuses} | {state for state, _reason in broken.values()}
    if states & {AccountState.ERROR, AccountState.NEEDS_SIGN_IN} or report.failed or report.uncertain:
        return EXIT_NEEDS_A_PERSON
    if states & {AccountState.OFFLINE, AccountState.RATE_LIMITED}:
        return EXIT_TRY_LATER
    return EXIT_OK


# -- inbox outbox ---------------------------------------------------------------------------------


def _item_row(item: OutboxItem, hold: Hold | None = None) -> dict[str, object]:
    draft = item.draft
    return {
        "id": draft.local_id,
        "conversation_id": draft.conversation_id,
        "account_id": draft.account_id,
        "channel": draft.channel.value,
        "surface": draft.surface.value,
        "state": item.state.value,
        "attempts": item.attempts,
        "error": item.last_error,
        "waiting_for": hold.blocker if hold else None,
        "reason": hold.reason if hold else item.last_error,
        "provider_id": item.provider_id,
        "queued_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "text": draft.text,
    }


_LABEL = {OutboxState.UNCERTAIN: "may have been sent"}


def cmd_outbox(args: argparse.Namespace) -> int:

    store = open_store(args)
    states = tuple(OutboxState) if args.all else OPEN_STATES
    items = store.outbox_items(states)
    held = holds((i.draft.local_id, i.draft.conversation_id, i.state) for i in items)
    data = [_item_row(i, held.get(i.draft.local_id)) for i in items]
    if args.json:
        emit_json(data)
        return 0
    rows = [
        [
            d["id"],
            d["conversation_id"],
            d["account_id"],
            _LABEL.get(OutboxState(str(d["state"])), str(d["state"])),
            d["attempts"],
            d["reason"],
            one_line(str(d["text"]), 40),
        ]
        for d in data
    ]
    print(table(rows, ["id", "conv", "account", "state", "tries", "reason", "text"]))
    undecided = [i for i in items if i.state in (OutboxState.UNCERTAIN, OutboxState.FAILED)]
    if undecided:
        print(
            f"{len(undecided)} to decide: inbox outbox mark-sent|resend|drop ID "
            "(replies after them in their conversation wait)"
        )
    return 0


def cmd_outbox_resend(args: argparse.Namespace) -> int:
    store = open_store(args)
    item_id = store.resolve_outbox_id(args.id)
    _outbox(store).resend(item_id)
    print(f"{item_id} queued again; it goes out at the next sync")
    return 0


def cmd_outbox_mark_sent(args: argparse.Namespace) -> int:
    store = open_store(args)
    item_id = store.resolve_outbox_id(args.id)
    Outbox(store, clock=_now).mark_sent(item_id)
    print(f"{item_id} marked as sent; the replies after it go out at the next sync")
    return 0


def cmd_outbox_drop(args: argparse.Namespace) -> int:
    store = open_store(args)
    item_id = store.resolve_outbox_id(args.id)
    _outbox(store).drop(item_id)
    print(f"{item_id} dropped")
    return 0


# -- inbox reply ----------------------------------------------------------------------------------


def cmd_reply(args: argparse.Namespace) -> int:
    store = open_store(args)
    text = args.text.replace("\r\n", "\n")
    outbox = _outbox(store)
    if args.note:
        if args.dm:
            raise InputError("--note", "a note is private; --dm does not apply")
        message_id = outbox.note(args.conversation_id, text, AGENT)
        print(f"note {message_id}", file=sys.stderr)
    else:
        item = outbox.reply(args.conversation_id, text, dm=args.dm)
        print(item.draft.local_id)
    if args.status:
        store.set_status(args.conversation_id, Status(args.status), _now(), AGENT)
    return 0
