-- Chunks of a generation that is no longer live (replaced by an overwrite). Downloads that started
-- before the switch may still read them, so their objects are removed only after delete_after
-- (epoch ms), by the periodic sweep.
CREATE TABLE retired_chunks (
    storage_key  text   PRIMARY KEY,
    file_id      uuid   NOT NULL,
    delete_after bigint NOT NULL
);

CREATE INDEX retired_chunks_due_idx ON retired_chunks (delete_after);
