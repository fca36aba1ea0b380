-- Thumbnails of a file's live generation: where their (encrypted) objects are. The public
-- descriptors shown in the resource stay in files.thumbnails.
CREATE TABLE thumbnails (
    file_id     uuid    NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    generation  integer NOT NULL,
    idx         integer NOT NULL,
    storage_key text    NOT NULL UNIQUE,
    type        text    NOT NULL,
    size        bigint  NOT NULL,
    width       integer NOT NULL,
    height      integer NOT NULL,
    PRIMARY KEY (file_id, idx)
);
CREATE INDEX files_thumbnails_waiting_idx ON files (updated_at) WHERE thumbnails_status = 'waiting';
