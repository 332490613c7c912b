-- Approvals: every tool call the risk policy held for the owner's decision, and that decision
-- (who, when, what, why). Tool-gap reports: what an agent said it was missing to finish a task.
-- run_id and session_id have no foreign keys: a record of what was asked and decided must
-- outlive the runs it belongs to, and must never make a tool call fail.

CREATE TABLE approval (
  id              uuid PRIMARY KEY,
  run_id          uuid,                 -- null for a call outside a run (an MCP client with the owner token)
  session_id      uuid,
  tool            text NOT NULL,
  arguments       jsonb NOT NULL,
  arguments_hash  text NOT NULL,        -- SHA-256 hex of the canonical JSON of arguments
  tier            text NOT NULL CHECK (tier IN ('low', 'medium', 'high')),
  reason          text NOT NULL DEFAULT '',
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
  requested_at    timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  decided_by      text,                 -- 'owner', or for no one: 'timeout', 'run_cancelled', 'shutdown', 'restart'
  note            text,
  escalated       boolean NOT NULL DEFAULT false,
  used_at         timestamptz,          -- when its call ran: an approval runs exactly one call, once
  CHECK ((status = 'pending') = (decided_at IS NULL)),
  CHECK (used_at IS NULL OR status = 'approved')
);
CREATE INDEX approval_pending_idx ON approval (requested_at) WHERE status = 'pending';
CREATE INDEX approval_requested_idx ON approval (requested_at DESC);
CREATE INDEX approval_run_idx ON approval (run_id);

CREATE TABLE tool_gap_report (
  id          bigserial PRIMARY KEY,
  run_id      uuid,
  session_id  uuid,
  report      jsonb NOT NULL,           -- as the agent wrote it (docs/tool-gap-report.schema.json)
  valid       boolean NOT NULL,         -- whether it conforms to that schema
  errors      jsonb NOT NULL DEFAULT '[]'::jsonb,  -- the schema violations when not valid
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tool_gap_report_created_idx ON tool_gap_report (created_at DESC);
CREATE INDEX tool_gap_report_run_idx ON tool_gap_report (run_id);
