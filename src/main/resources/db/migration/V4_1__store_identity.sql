-- The identity of the chunk store this database describes: one row, written at first use. The
-- store holds the same id (a local store in <storage.local.path>/.store-id); a node whose database
-- and store name different ids refuses to start instead of collecting "orphans" that are another
-- database's files.
CREATE TABLE store_identity (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    store_id   uuid    NOT NULL,
    created_at bigint  NOT NULL
);
