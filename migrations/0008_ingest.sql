-- Document ingestion: one row per file Steward has seen, so a re-run can skip what has not
-- changed (same SHA-256), re-index what has, and mark what has disappeared. The memory_item a
-- file produced is kept when the file goes away (valid_to is set), so answers that cited it
-- still resolve.

CREATE TABLE ingested_file (
  path          text PRIMARY KEY,                   -- absolute, as walked (symlinks not resolved)
  content_hash  text NOT NULL DEFAULT '',           -- SHA-256 of the file's bytes, lowercase hex
  item_id       bigint REFERENCES memory_item(id) ON DELETE SET NULL,
  size          bigint NOT NULL DEFAULT 0,
  mtime         timestamptz,
  status        text NOT NULL CHECK (status IN ('added', 'updated', 'unchanged', 'skipped', 'failed', 'deleted')),
  error         text,                               -- why it failed or was skipped
  ingested_at   timestamptz NOT NULL DEFAULT now(), -- last time this path was processed
  deleted_at    timestamptz                         -- set when the file was found gone
);
CREATE INDEX ingested_file_item_idx ON ingested_file (item_id);
-- Finding the files under a folder: path LIKE '/dir/%' with text_pattern_ops.
CREATE INDEX ingested_file_prefix_idx ON ingested_file (path text_pattern_ops);
