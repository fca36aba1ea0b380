-- Which node took a file's thumbnail job (null: nobody yet, or released). When that node leaves the
-- cluster, a survivor releases its jobs and asks for them again at once. A hint for speed only: the
-- thumbnail is recorded once per generation whoever makes it.
ALTER TABLE files ADD COLUMN thumbnail_node text;

-- A pending upload's thumbnails wait too (thumbnails_status 'waiting' from its creation); the sweep
-- and the pick-up look only at files with content.
DROP INDEX files_thumbnails_waiting_idx;
CREATE INDEX files_thumbnails_waiting_idx ON files (updated_at)
    WHERE thumbnails_status = 'waiting' AND generation IS NOT NULL;
