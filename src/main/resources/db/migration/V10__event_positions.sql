-- Replayable file events (docs/event-bus.md, "Positions and replay"). Every event of the outbox gets
-- a position: a number for the whole cluster, strictly increasing, without gaps. The relay (one node
-- at a time, holding the outbox advisory lock) gives positions serially to the rows it has not yet
-- numbered, in seq order, in one transaction, before it publishes them; a reader only ever sees rows
-- that have a position, so no smaller position can appear after a larger one. previous_position is
-- the position of the same company's previous event (0 for its first), so that a subscriber of one
-- company's address detects a missed event from the event alone.
ALTER TABLE event_outbox ADD COLUMN position bigint UNIQUE;
ALTER TABLE event_outbox ADD COLUMN previous_position bigint;

-- The last position given (one row); positions never go back, even when retention empties the outbox.
CREATE TABLE event_positions (
  id   boolean PRIMARY KEY DEFAULT true CHECK (id),
  last bigint  NOT NULL
);
-- The last position given to each company's events, kept when its rows are removed.
CREATE TABLE event_company_positions (
  company_id uuid   PRIMARY KEY,
  last       bigint NOT NULL
);

-- Rows written before positions existed are numbered in seq order.
WITH ordered AS (
  SELECT seq, company_id, row_number() OVER (ORDER BY seq) AS position FROM event_outbox),
numbered AS (
  SELECT seq, position, coalesce(lag(position) OVER (PARTITION BY company_id ORDER BY seq), 0) AS previous
  FROM ordered)
UPDATE event_outbox o SET position = n.position, previous_position = n.previous FROM numbered n WHERE o.seq = n.seq;
INSERT INTO event_positions (last) SELECT coalesce(max(position), 0) FROM event_outbox;
INSERT INTO event_company_positions (company_id, last)
  SELECT company_id, max(position) FROM event_outbox GROUP BY company_id;

CREATE INDEX event_outbox_unnumbered_idx ON event_outbox (seq) WHERE position IS NULL;
CREATE INDEX event_outbox_company_position_idx ON event_outbox (company_id, position) WHERE position IS NOT NULL;
