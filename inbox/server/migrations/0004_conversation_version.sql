-- A conversation's version: bumped by every message that enters it (an inbound message, a reply
-- or a note, a message moved in by a merge of conversations), and each message keeps the version
-- at which it entered its conversation. The stale-reply check compares the version an agent saw
-- with the versions of the messages others added since: message ids cannot tell, since a merge
-- brings in messages with older ids. One trigger does it, so no writer can forget it.
ALTER TABLE conversations ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN version bigint NOT NULL DEFAULT 0;

UPDATE messages m SET version = n.v
  FROM (SELECT id, row_number() OVER (PARTITION BY conversation_id ORDER BY id) AS v FROM messages) n
 WHERE n.id = m.id;
UPDATE conversations c SET version = coalesce((SELECT max(version) FROM messages WHERE conversation_id = c.id), 0);

CREATE FUNCTION message_enters_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET version = version + 1 WHERE id = NEW.conversation_id RETURNING version INTO NEW.version;
    RETURN NEW;
END
$$;

CREATE TRIGGER messages_version_insert BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION message_enters_conversation();
CREATE TRIGGER messages_version_move BEFORE UPDATE OF conversation_id ON messages
    FOR EACH ROW WHEN (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id)
    EXECUTE FUNCTION message_enters_conversation();

CREATE INDEX messages_conversation_version ON messages(conversation_id, version);
