-- Which node runs the upload session of a file (one per file in the cluster), and the node leases
-- the takeover rule reads. A node takes a session with one conditional statement that raises the
-- epoch; every write of the session first checks that the row still names it with its epoch, so a
-- stale owner (a frozen node, the far side of a healed partition) changes nothing.
CREATE TABLE nodes (
  node_id     text PRIMARY KEY,
  lease_until timestamptz NOT NULL,
  started_at  timestamptz NOT NULL
);

CREATE TABLE upload_sessions (
  file_id    uuid PRIMARY KEY,
  owner_node text NOT NULL,
  epoch      bigint NOT NULL
);

-- Epochs come from a sequence so that one is never handed out twice, not even after its row was deleted.
CREATE SEQUENCE session_epochs;
