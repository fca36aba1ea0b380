-- tus concatenation: a final upload's chunk rows are the partial uploads' rows, moved (no byte
-- copied). A moved row keeps where its ciphertext came from: the file id, generation and chunk
-- number its encryption's associated data names, and that file's data key (wrapped, with the id
-- of the master key that wraps it), so that the chunk is decrypted with its own key. Null for a
-- chunk written for the file it belongs to.
ALTER TABLE chunks ADD COLUMN source_file_id uuid;
ALTER TABLE chunks ADD COLUMN source_generation integer;
ALTER TABLE chunks ADD COLUMN source_chunk_number integer;
ALTER TABLE chunks ADD COLUMN source_data_key bytea;
ALTER TABLE chunks ADD COLUMN source_data_key_id text;
ALTER TABLE chunks ADD CONSTRAINT chunks_source_whole CHECK (
    (source_file_id IS NULL AND source_generation IS NULL AND source_chunk_number IS NULL
        AND source_data_key IS NULL AND source_data_key_id IS NULL)
    OR (source_file_id IS NOT NULL AND source_generation IS NOT NULL AND source_chunk_number IS NOT NULL
        AND source_data_key IS NOT NULL AND source_data_key_id IS NOT NULL));
CREATE INDEX chunks_source_key_idx ON chunks (source_data_key_id) WHERE source_file_id IS NOT NULL;

-- The tus concatenation role of an upload: 'partial' (Upload-Concat: partial, a pending file until a
-- final upload consumes it) or 'final' (parts: the partial uploads' ids, in order).
CREATE TABLE upload_concat (
    file_id uuid   PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    kind    text   NOT NULL CHECK (kind IN ('partial', 'final')),
    parts   uuid[] CHECK ((kind = 'final') = (parts IS NOT NULL))
);
