-- The transaction that wrote each event (as change_log.xid): a pull returns only the events of
-- the transactions whose changes it returns, not each changed conversation's whole log.
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_xid ON events(xid);
