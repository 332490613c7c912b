-- The tools a run could use, as they were when it started: one row per tool, written in the
-- transaction that creates the run row. One row per tool (rather than one jsonb array per run)
-- so "which runs could call fs.write_file?" and "what did its schema say then?" are plain
-- indexed queries, and a tool's description or tier can be compared across runs without
-- unpacking arrays; the rows of one run are inserted by a single statement all the same.

CREATE TABLE tool_snapshot (
  run_id        uuid NOT NULL REFERENCES run(id) ON DELETE CASCADE,
  name          text NOT NULL,                       -- namespaced: "fs.read_text_file"
  server        text NOT NULL,                       -- "fs"
  description   text NOT NULL DEFAULT '',
  input_schema  jsonb NOT NULL DEFAULT '{}'::jsonb,
  risk_tier     text NOT NULL CHECK (risk_tier IN ('low', 'medium', 'high')),
  taken_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, name)
);
CREATE INDEX tool_snapshot_name_idx ON tool_snapshot (name);
