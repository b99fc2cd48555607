"""A mailbox's sync cursor, as JSON: ``{"uidvalidity": int, "last_uid": int}``, plus ``"since"`` (ISO date)
while the first sync of the last ``initial_days`` is still in progress. It only ever advances
past messages that were returned, one chunk at a time, so a cut connection costs one chunk.
A new UIDVALIDITY means the server renumbered the mailbox: the sync starts over and the store's
Message-ID dedup keeps it from creating duplicates.

Where the server offers CONDSTORE (RFC 7162) the cursor also keeps ``"modseq"`` (the mailbox's
HIGHESTMODSEQ) and, once a fetch has read everything, ``"uidnext"``. When EXAMINE reports the
same UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ again, nothing happened in the mailbox and the fetch
returns at once, without a UID SEARCH: the common poll. When the modseq moved, one
``UID FETCH ... (CHANGEDSINCE modseq)`` counts the known messages whose flags changed (reported
as ``info["flags_changed"]``); new mail still comes through the UID search. Cursors written before
these keys existed still parse; without CONDSTORE, or after NOMODSEQ, they are never written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date

from inbox.providers.email import imap

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Cursor:
    uidvalidity: int
    last_uid: int
    since: date | None = None  # set while the initial window is being fetched
    modseq: int | None = None  # HIGHESTMODSEQ at the last fetch (CONDSTORE servers only)
    uidnext: int | None = None  # UIDNEXT when that fetch had read everything

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor, or None (a fresh start) when absent or unreadable."""
        if not text:
            return None
        try:
            data = json.loads(text)
            since = date.fromisoformat(data["since"]) if data.get("since") else None
            modseq = int(data["modseq"]) if data.get("modseq") is not None else None
            uidnext = int(data["uidnext"]) if data.get("uidnext") is not None else None
            return cls(int(data["uidvalidity"]), int(data["last_uid"]), since, modseq, uidnext)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("email: unreadable cursor, starting a fresh sync")
            return None

    def dump(self) -> str:
        data: dict[str, object] = {"uidvalidity": self.uidvalidity, "last_uid": self.last_uid}
        if self.since is not None:
            data["since"] = self.since.isoformat()
        if self.modseq is not None:
            data["modseq"] = self.modseq
        if self.uidnext is not None:
            data["uidnext"] = self.uidnext
        return json.dumps(data)

    def unchanged(self, state: imap.MailboxState) -> bool:
        """Whether EXAMINE shows the very mailbox this complete cursor was taken from: same
        UIDVALIDITY, no new UID handed out, no mod-sequence spent (RFC 7162: every change to
        a message, its flags or the message set raises HIGHESTMODSEQ)."""
        return (
            self.since is None
            and state.highestmodseq is not None
            and self.modseq == state.highestmodseq
            and self.uidnext is not None
            and self.uidnext == state.uidnext
            and self.uidvalidity == state.uidvalidity
        )
