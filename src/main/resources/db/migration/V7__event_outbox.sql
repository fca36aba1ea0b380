-- The outbox of file events (README, "Event bus"): each event is written here in the transaction
-- of the change it describes; the relay (one node at a time, holding a PostgreSQL advisory lock)
-- publishes unpublished rows in seq order on files.events and files.events.<company_id>, marks them
-- published, and removes them events.retention_ms later.
CREATE TABLE event_outbox (
  seq          bigserial PRIMARY KEY,
  id           uuid        NOT NULL UNIQUE,
  file_id      uuid        NOT NULL,
  company_id   uuid        NOT NULL,
  type         text        NOT NULL,
  body         jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX event_outbox_unpublished_idx ON event_outbox (seq) WHERE published_at IS NULL;
CREATE INDEX event_outbox_published_idx ON event_outbox (published_at) WHERE published_at IS NOT NULL;
