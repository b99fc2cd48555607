"""Versioned, append-only migrations of the local store (sqlite-utils migrations).

Each migration runs in a transaction with the record of it. A database that has a migration this
version does not know was written by a newer Inbox and is refused with a clear message.

sqlite-utils is imported only when a migration has to run (or a test asks for it): importing it
costs ~60 ms and its plugin scan ~15 ms, most of what ``inbox queue`` spent before answering.
Opening an up-to-date store only reads the names in ``_sqlite_migrations``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    from inbox.store.database import Database as StoreDatabase

MIGRATION_SET = "inbox"
MIGRATIONS_TABLE = "_sqlite_migrations"


class MigrationSet:
    """The store's named migrations in order, registered with ``@MIGRATIONS(name=...)``; handed to
    sqlite-utils' ``Migrations`` (same table, same records) when one has to be applied."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps: list[tuple[str, Callable[[Any], None]]] = []

    def __call__(self, *, name: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
        def register(fn: Callable[[Any], None]) -> Callable[[Any], None]:
            if any(known == name for known, _ in self.steps):
                raise ValueError(f"migration {name} is registered twice")
            self.steps.append((name, fn))
            return fn

        return register

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.steps]

    def applied_names(self, conn: sqlite3.Connection) -> list[str]:
        """Names of the migrations applied to the database, in order (no sqlite-utils needed)."""
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS_TABLE]
        ).fetchone()
        if not exists:
            return []
        rows = conn.execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY rowid", [self.name]
        )
        return [str(row[0]) for row in rows]

    def sqlite_utils(self) -> Migrations:
        from sqlite_utils.migrations import Migrations

        migrations = Migrations(self.name)
        for name, fn in self.steps:
            migrations(name=name)(fn)
        return migrations

    def apply(self, db: StoreDatabase | Database, *, stop_before: str | Iterable[str] | None = None) -> None:
        self.sqlite_utils().apply(_full(db), stop_before=stop_before)

    def applied(self, db: StoreDatabase | Database) -> list[Migrations._AppliedMigration]:
        return self.sqlite_utils().applied(_full(db))

    def pending(self, db: StoreDatabase | Database) -> list[Migrations._Migration]:
        return self.sqlite_utils().pending(_full(db))


def _full(db: StoreDatabase | Database) -> Database:
    """A sqlite-utils Database on the same connection (migrations use its table helpers)."""
    from sqlite_utils import Database

    return db if isinstance(db, Database) else Database(db.conn)


MIGRATIONS = MigrationSet(MIGRATION_SET)


@MIGRATIONS(name="0001_initial")
def m0001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            name TEXT NOT NULL,
            own_keys TEXT NOT NULL DEFAULT '[]',
            settings TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'idle',
            state_reason TEXT NOT NULL DEFAULT '',
            cursor TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            display_name TEXT NOT NULL DEFAULT '',
            crm_number TEXT UNIQUE,
            notes TEXT NOT NULL DEFAULT '',
            vip INTEGER NOT NULL DEFAULT 0,
            name_key TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE INDEX customers_name_key ON customers(name_key);
        CREATE TABLE identities (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            handle TEXT NOT NULL DEFAULT '',
            display_name TEXT NOT NULL DEFAULT '',
            customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
            followers INTEGER,
            avatar_url TEXT,
            UNIQUE (kind, key)
        );
        CREATE INDEX identities_customer ON identities(customer_id);
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            surface TEXT,
            subject TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'new',
            priority TEXT NOT NULL DEFAULT 'normal',
            assignee TEXT,
            customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL,
            last_message_at TEXT NOT NULL,
            last_inbound_at TEXT,
            message_count INTEGER NOT NULL DEFAULT 0,
            preview TEXT NOT NULL DEFAULT '',
            sla_due_at TEXT,
            sla_state TEXT,
            noise INTEGER NOT NULL DEFAULT 0  -- only auto-replies, bounces, list mail so far
        );
        CREATE INDEX conversations_status_last ON conversations(status, last_message_at);
        CREATE INDEX conversations_customer ON conversations(customer_id);
        CREATE INDEX conversations_sla ON conversations(status, sla_due_at);
        CREATE INDEX conversations_last ON conversations(last_message_at);
        CREATE TABLE conversation_tags (
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (conversation_id, tag)
        ) WITHOUT ROWID;
        CREATE INDEX conversation_tags_tag ON conversation_tags(tag);
        -- Which conversation a provider thread or an email Message-ID belongs to.
        CREATE TABLE thread_keys (
            key TEXT PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX thread_keys_conversation ON thread_keys(conversation_id);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            provider_id TEXT NOT NULL,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id),
            channel TEXT NOT NULL,
            surface TEXT NOT NULL,
            direction TEXT NOT NULL,
            identity_id INTEGER REFERENCES identities(id),
            author_key TEXT NOT NULL DEFAULT '',
            author_name TEXT NOT NULL DEFAULT '',
            author_handle TEXT NOT NULL DEFAULT '',
            subject TEXT,
            text TEXT NOT NULL DEFAULT '',
            html TEXT,
            sent_at TEXT NOT NULL,
            reply_to_id TEXT,
            refs TEXT NOT NULL DEFAULT '[]',
            recipients TEXT NOT NULL DEFAULT '[]',
            attachments TEXT NOT NULL DEFAULT '[]',
            automated INTEGER NOT NULL DEFAULT 0,
            private INTEGER NOT NULL DEFAULT 0,
            meta TEXT NOT NULL DEFAULT '{}',
            content_hash TEXT NOT NULL DEFAULT '',
            thread_key TEXT,
            outbox_id TEXT,
            UNIQUE (account_id, provider_id)
        );
        CREATE INDEX messages_conversation ON messages(conversation_id, sent_at);
        CREATE INDEX messages_identity ON messages(identity_id);
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            subject, text, author_name, content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, subject, text, author_name)
            VALUES (new.id, new.subject, new.text, new.author_name);
        END;
        CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, subject, text, author_name)
            VALUES ('delete', old.id, old.subject, old.text, old.author_name);
        END;
        CREATE TRIGGER messages_au AFTER UPDATE OF subject, text, author_name ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, subject, text, author_name)
            VALUES ('delete', old.id, old.subject, old.text, old.author_name);
            INSERT INTO messages_fts(rowid, subject, text, author_name)
            VALUES (new.id, new.subject, new.text, new.author_name);
        END;
        -- Every change, with its instant and author: the SLA engine, history and future team
        -- synchronisation replay these.
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL DEFAULT '',
            value TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX events_conversation ON events(conversation_id, at);
        CREATE TABLE sla_log (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            round INTEGER NOT NULL DEFAULT 0,
            policy TEXT NOT NULL,
            business_s REAL
        );
        CREATE INDEX sla_log_conversation ON sla_log(conversation_id);
        CREATE INDEX sla_log_at ON sla_log(at);
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id),
            account_id TEXT NOT NULL REFERENCES accounts(id),
            state TEXT NOT NULL,
            draft TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            provider_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX outbox_state ON outbox(state, created_at);
        CREATE TABLE drafts (
            conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE link_suggestions (
            id INTEGER PRIMARY KEY,
            identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            reason TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open',
            UNIQUE (identity_id, customer_id)
        );
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    )


@MIGRATIONS(name="0002_workspace_features")
def m0002_workspace_features(db: Database) -> None:
    """Canned responses, agents, triage scores, sentiment, alerts, notifications sent once."""
    db.executescript(
        """
        CREATE TABLE canned_responses (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            lang TEXT NOT NULL DEFAULT 'en',
            tags TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        );
        CREATE TABLE agents (
            name TEXT PRIMARY KEY,
            display_name TEXT NOT NULL DEFAULT '',
            channels TEXT NOT NULL DEFAULT '[]',  -- JSON list; empty means every channel
            active INTEGER NOT NULL DEFAULT 1,
            max_load INTEGER
        );
        ALTER TABLE messages ADD COLUMN lang TEXT;
        ALTER TABLE messages ADD COLUMN sentiment REAL;  -- -1 (negative) .. 1 (positive)
        CREATE INDEX messages_sentiment_todo ON messages(direction, sentiment);
        ALTER TABLE conversations ADD COLUMN score REAL;  -- triage score from the priority rules
        ALTER TABLE conversations ADD COLUMN priority_source TEXT NOT NULL DEFAULT 'auto';
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            acknowledged INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE notifications_sent (
            key TEXT PRIMARY KEY,  -- e.g. "sla:123:first_reply:1:breached", "new:456"
            at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE attachment_files (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            filename TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            path TEXT NOT NULL  -- below the store's attachments folder, content-addressed
        );
        CREATE INDEX attachment_files_message ON attachment_files(message_id);
        """
    )


@MIGRATIONS(name="0003_bench_indexes")
def m0003_bench_indexes(db: Database) -> None:
    """Indexes found missing at call-centre scale (bench/RESULTS.md): the "Mine" and "Unassigned"
    views filter on the assignee, and without this index counting "Mine" scanned all 100,000
    conversations (90 ms)."""
    db.executescript(
        """
        CREATE INDEX conversations_assignee_status ON conversations(assignee, status);
        ANALYZE conversations;
        """
    )


@MIGRATIONS(name="0004_sla_freshness")
def m0004_sla_freshness(db: Database) -> None:
    """What the cached SLA state of a conversation was computed from, so a refresh replays only
    the conversations whose state can have changed (bench/RESULTS.md: replaying 10,000 open
    conversations took 2.4 s). The cache is valid from ``sla_at`` until ``sla_next_at`` (the next
    warning or breach instant) while no event newer than ``sla_event_id`` exists. A change of the
    customer's VIP flag or of the conversation's customer changes the policy, so triggers mark
    those conversations stale."""
    db.executescript(
        """
        ALTER TABLE conversations ADD COLUMN sla_at TEXT;
        ALTER TABLE conversations ADD COLUMN sla_next_at TEXT;
        ALTER TABLE conversations ADD COLUMN sla_event_id INTEGER;
        CREATE TRIGGER conversations_sla_customer AFTER UPDATE OF customer_id ON conversations
        WHEN OLD.customer_id IS NOT NEW.customer_id
        BEGIN
            UPDATE conversations SET sla_event_id = NULL WHERE id = NEW.id;
        END;
        CREATE TRIGGER customers_sla_vip AFTER UPDATE OF vip ON customers
        WHEN OLD.vip IS NOT NEW.vip
        BEGIN
            UPDATE conversations SET sla_event_id = NULL WHERE customer_id = NEW.id;
        END;
        """
    )


@MIGRATIONS(name="0005_account_rejections")
def m0005_account_rejections(db: Database) -> None:
    """How many items an account's fetches rejected (a web-form submission without its fields,
    a mail that could not be stored) and the last reason: the account stays "up to date", so
    Settings and ``inbox account list`` show the count beside its state."""
    db.executescript(
        """
        ALTER TABLE accounts ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE accounts ADD COLUMN last_rejection TEXT NOT NULL DEFAULT '';
        """
    )


@MIGRATIONS(name="0006_search_handles")
def m0006_search_handles(db: Database) -> None:
    """Search finds a customer by X handle (``@lea``, case ignored, or its beginning) through an
    index instead of reading every identity; the conversations of the messages a word matches are
    read from a covering index of message ids (a lookup in the table read a page of message text
    per match: 2x slower)."""
    db.executescript(
        """
        CREATE INDEX identities_handle ON identities(handle COLLATE NOCASE);
        CREATE INDEX messages_id_conversation ON messages(id, conversation_id);
        """
    )


@MIGRATIONS(name="0007_imported_files")
def m0007_imported_files(db: Database) -> None:
    """The mail files ``inbox import`` stored, with their size and modification time, so that
    importing the same maildir again skips them unread (written in the transaction that stores
    their messages, so a crash never marks a file whose messages are lost)."""
    db.executescript(
        """
        CREATE TABLE imported_files (
            account_id TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            messages INTEGER NOT NULL,
            PRIMARY KEY (account_id, path)
        ) WITHOUT ROWID;
        """
    )


@MIGRATIONS(name="0008_team_replica")
def m0008_team_replica(db: Database) -> None:
    """Team mode: this store is a replica of what a team server lets its agent see.

    ``team_state`` (one row) says which server and agent, the pull cursor, this desktop's
    ``client_id`` and the next intent number; the session token is never here (keyring only).
    ``team_intents`` are the agent's changes, applied to the replica at once and pushed in order;
    each ends ``applied`` or ``rejected`` (with the server's reason). ``team_kept_drafts`` keeps
    the agent's unsent text when signing out removes the conversations it belonged to.
    Presence is in memory only.
    """
    db.executescript(
        """
        CREATE TABLE team_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            server_url TEXT NOT NULL,
            agent TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL DEFAULT 'agent',
            accounts TEXT NOT NULL DEFAULT '[]',
            client_id TEXT NOT NULL,
            cursor TEXT NOT NULL DEFAULT '0',
            next_seq INTEGER NOT NULL DEFAULT 1,
            signed_in INTEGER NOT NULL DEFAULT 0,
            session_expires_at TEXT,
            joined_at TEXT NOT NULL
        );
        CREATE TABLE team_intents (
            seq INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            conversation_id INTEGER,
            body TEXT NOT NULL,                      -- the intent as sent (JSON)
            state TEXT NOT NULL DEFAULT 'pending',   -- pending | applied | rejected
            status INTEGER,                          -- the server's HTTP status once answered
            reason TEXT NOT NULL DEFAULT '',         -- the server's problem detail
            answer TEXT NOT NULL DEFAULT '{}',       -- the server's body (JSON)
            acknowledged INTEGER NOT NULL DEFAULT 0, -- a rejection the agent has seen and dismissed
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX team_intents_state ON team_intents(state, seq);
        CREATE TABLE team_kept_drafts (
            conversation_id INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            server_url TEXT NOT NULL DEFAULT ''  -- the server whose conversation ids these are
        );
        """
    )


@MIGRATIONS(name="0009_latest_inbound")
def m0009_latest_inbound(db: Database) -> None:
    """The customer's latest message of a conversation read from an index alone: the "Unhappy
    customers" view filters and the queue shows the sentiment of each conversation's newest inbound
    message, and through ``messages_conversation`` each lookup read every message row of the
    conversation (counting the view: 7-55 ms at 100,000 messages, on the Qt thread at each
    refresh; 0.4 ms with this index, bench/RESULTS.md)."""
    db.executescript(
        """
        CREATE INDEX messages_latest_inbound
            ON messages(conversation_id, direction, automated, sent_at, id, sentiment);
        ANALYZE messages;
        """
    )


@MIGRATIONS(name="0010_suggestions_by_customer")
def m0010_suggestions_by_customer(db: Database) -> None:
    """A customer's open link suggestions read by index: the customer panel asks for them at each
    conversation opened, and without an index on the suggested customer every ask scanned the
    whole table (465,000 suggestions at 1M messages: 54 ms of the 98 ms an opening took)."""
    db.executescript(
        """
        CREATE INDEX link_suggestions_customer ON link_suggestions(customer_id, state);
        ANALYZE link_suggestions;
        """
    )


@MIGRATIONS(name="0011_search_index_at_commit")
def m0011_search_index_at_commit(db: Database) -> None:
    """The search index written once per transaction instead of once per message, and the index's
    vocabulary in a table of its own (``inbox.store.search_index``).

    A trigger that writes to an FTS5 table makes every INSERT of a message open a statement
    savepoint, and FTS5 writes its pending terms out at each savepoint: 55 µs a message, against
    9 µs for the same rows indexed by one INSERT ... SELECT. The triggers now only note the
    message in ``messages_unindexed`` (or take a changed or deleted message's old terms out of
    the index; a replica's upsert that rewrites the same text changes nothing), and ``index_messages`` indexes the noted ones before each COMMIT.

    ``search_terms`` lists every term of the index, so that a typed word's prefix is expanded by
    an index range into the terms it stands for: FTS5 answers a prefix query (``"refund" *``)
    by merging the match lists of all those terms in memory before returning a row (4-8 ms a word
    at 1M messages, 84 ms for ``re``), where it reads plain terms lazily, newest first.
    ``search_terms_new`` (contentless, the index's tokenizer) turns the new messages' text into
    terms for it."""
    db.executescript(
        """
        CREATE TABLE messages_unindexed (id INTEGER PRIMARY KEY);
        DROP TRIGGER messages_ai;
        DROP TRIGGER messages_au;
        DROP TRIGGER messages_ad;
        CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
            INSERT OR IGNORE INTO messages_unindexed(id) VALUES (new.id);
        END;
        CREATE TRIGGER messages_au AFTER UPDATE OF subject, text, author_name ON messages
        WHEN old.subject IS NOT new.subject OR old.text IS NOT new.text OR old.author_name IS NOT new.author_name
        BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, subject, text, author_name)
                SELECT 'delete', old.id, old.subject, old.text, old.author_name
                WHERE NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE id = old.id);
            INSERT OR IGNORE INTO messages_unindexed(id) VALUES (new.id);
        END;
        CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, subject, text, author_name)
                SELECT 'delete', old.id, old.subject, old.text, old.author_name
                WHERE NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE id = old.id);
            DELETE FROM messages_unindexed WHERE id = old.id;
        END;
        CREATE TABLE search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE VIRTUAL TABLE search_terms_new USING fts5(
            words, content='', detail=none, columnsize=0, tokenize='unicode61 remove_diacritics 2'
        );
        CREATE VIRTUAL TABLE search_terms_new_vocab USING fts5vocab(search_terms_new, row);
        CREATE VIRTUAL TABLE temp.messages_fts_terms USING fts5vocab(main, messages_fts, row);
        INSERT INTO search_terms(term) SELECT term FROM temp.messages_fts_terms;
        DROP TABLE temp.messages_fts_terms;
        """
    )


@MIGRATIONS(name="0012_view_count_indexes")
def m0012_view_count_indexes(db: Database) -> None:
    """The views column counted from indexes alone: "SLA at risk" (status and SLA state) and each
    channel (status and channel) read every matching conversation row, 20 ms and 3 ms at 1M
    messages (100,000 conversations, cold: 110 ms), at each refresh of the counts and before the
    window is first shown; 0.3 and 0.1 ms with these (bench/RESULTS.md)."""
    db.executescript(
        """
        CREATE INDEX conversations_status_sla ON conversations(status, sla_state);
        CREATE INDEX conversations_status_channel ON conversations(status, channel);
        ANALYZE conversations;
        """
    )
