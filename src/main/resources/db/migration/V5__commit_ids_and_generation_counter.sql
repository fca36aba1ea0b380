-- Commit ids: every chunk commit (one HTTP request) carries an id, kept with the chunk row it
-- recorded and, once that copy is superseded, with its retired row; a commit that arrives again
-- (a retried event-bus question) is recognised by it and changes nothing.
ALTER TABLE chunks ADD COLUMN commit_id uuid;
ALTER TABLE retired_chunks ADD COLUMN commit_id uuid;
CREATE INDEX chunks_commit_idx ON chunks (file_id, commit_id) WHERE commit_id IS NOT NULL;
CREATE INDEX retired_chunks_commit_idx ON retired_chunks (file_id, commit_id) WHERE commit_id IS NOT NULL;

-- The highest generation ever handed out per file: a new upload takes the next number, so a
-- generation number (part of every chunk's encryption associated data) is never used twice,
-- not even after an abandoned overwrite.
ALTER TABLE files ADD COLUMN last_generation integer NOT NULL DEFAULT 0;
UPDATE files f SET last_generation = greatest(coalesce(f.generation, 0), coalesce(f.upload_generation, 0),
    coalesce((SELECT max(c.generation) FROM chunks c WHERE c.file_id = f.id), 0));
