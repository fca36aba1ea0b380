-- Envelope encryption: each file's data key, wrapped by the master key named by data_key_id
-- ('none' for files stored by a node running with the benchmark-only null cipher).
ALTER TABLE files ADD COLUMN data_key bytea;
ALTER TABLE files ADD COLUMN data_key_id text;
CREATE INDEX files_data_key_id_idx ON files (data_key_id);
