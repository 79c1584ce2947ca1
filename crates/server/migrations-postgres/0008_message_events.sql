-- Every instance learns of every stored message (pg_events): the insert
-- notifies inside its own transaction, so the notification is delivered if
-- and only if the message commits, and in commit order (store order, as
-- seq is drawn under the write lock). Ids only: a listener reads the rest.
-- PostgreSQL only: on SQLite one instance publishes in-process, so SQLite has
-- no 0008.
CREATE FUNCTION connect360_message_stored() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('connect360_events', json_build_object(
        'kind', 'message',
        'workspaceId', (SELECT workspace_id FROM conversations WHERE id = NEW.conversation_id),
        'id', NEW.id
    )::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_notify AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION connect360_message_stored();
