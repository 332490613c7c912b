-- Workflow runs and their steps (the engine in core/src/engine/workflow_engine.cpp).
--
-- A workflow run is a `run` row of kind 'workflow'; the agent steps it starts are child runs of
-- kind 'agent' (so model_call, tool_snapshot, approvals and spans attach to them) and its
-- sub-workflows child runs of kind 'workflow', both with parent_run_id set.
--
-- Ownership: one process drives a run at a time. `owner` names it (a random id per process) and
-- `lease_until` is how long its claim lasts; the owner renews the lease while it runs. A run
-- whose lease expired (its process died) is adopted by any process sharing the database with one
-- conditional UPDATE, and resumed from its recorded steps.

ALTER TABLE run DROP CONSTRAINT run_kind_check;
ALTER TABLE run ADD CONSTRAINT run_kind_check CHECK (kind IN ('chat', 'workflow', 'agent'));

ALTER TABLE run
  ADD COLUMN workflow       text,                    -- kind 'workflow': its name under `workflows:`
  ADD COLUMN parent_run_id  uuid REFERENCES run(id) ON DELETE CASCADE,
  ADD COLUMN parent_step    text,                    -- the parent's step path that started this run
  ADD COLUMN trigger        text,                    -- 'api' | 'cli' | 'schedule' | 'workflow' ...
  ADD COLUMN input          jsonb,
  ADD COLUMN output         jsonb,
  ADD COLUMN owner          text,                    -- the process driving it; null once finished
  ADD COLUMN lease_until    timestamptz;

CREATE INDEX run_workflow_lease_idx ON run (lease_until)
  WHERE kind = 'workflow' AND status = 'running' AND parent_run_id IS NULL;
CREATE INDEX run_workflow_idx ON run (workflow, started_at DESC) WHERE workflow IS NOT NULL;
CREATE INDEX run_parent_idx ON run (parent_run_id) WHERE parent_run_id IS NOT NULL;

-- One row per step execution point of a run. `path` names it uniquely within the run:
-- "fetch", "research[2].summarize" (for_each item 2), "route.case[1].notify" (branch),
-- "send.on_error" / "send.fallback" (handlers). A step's completed result is written once:
-- the UPDATE that sets status 'succeeded' requires the run still to be owned by the writer and
-- the step not to have succeeded already.
CREATE TABLE workflow_step (
  run_id           uuid NOT NULL REFERENCES run(id) ON DELETE CASCADE,
  path             text NOT NULL,
  step_id          text NOT NULL,
  kind             text NOT NULL,
  status           text NOT NULL CHECK (status IN ('running', 'waiting', 'succeeded', 'failed', 'skipped')),
  attempt          integer NOT NULL DEFAULT 0,       -- attempts started so far
  input            jsonb,                            -- the rendered input of the latest attempt
  output           jsonb,
  error            jsonb,                            -- {code, message, attempt} of the latest failure
  errors           jsonb NOT NULL DEFAULT '[]'::jsonb,  -- every failed attempt's error
  child_run_id     uuid,                             -- agent / workflow / orchestrator steps
  approval_id      uuid,                             -- approval steps
  idempotency_key  text,
  seq              bigserial,                        -- start order, for listing
  started_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  PRIMARY KEY (run_id, path),
  CHECK ((status IN ('succeeded', 'failed', 'skipped')) = (finished_at IS NOT NULL))
);
CREATE INDEX workflow_step_seq_idx ON workflow_step (run_id, seq);
