-- Budgets and cost roll-ups (core/src/models/budget_ledger.cpp, cost_rollup.cpp).
--
-- budget_ledger: one row per budget scope a call counted against: 'run:<uuid>',
-- 'workflow:<uuid>' (a workflow run and all its child runs), 'user:<user>:<YYYY-MM-DD>' (a UTC
-- day). spent_* is settled spending, added in the transaction that records the call's
-- model_call row, so a scope's spent_usd is the sum of its calls' cost_usd since the row was
-- created (and the row starts at the sum of the calls before it).
-- budget_reservation: the estimate of each call in flight, per scope; a call is admitted with
-- the scope's row locked (SELECT ... FOR UPDATE) and its reservation inserted in the same
-- transaction, so processes sharing the database see each other's calls. expires_at bounds
-- what a process that died mid-call can hold.

CREATE TABLE budget_ledger (
  scope               text PRIMARY KEY,
  kind                text NOT NULL CHECK (kind IN ('run', 'workflow', 'user_day')),
  spent_usd           numeric(14, 8) NOT NULL DEFAULT 0,
  spent_tokens        bigint NOT NULL DEFAULT 0,
  calls               bigint NOT NULL DEFAULT 0,
  warned_at           timestamptz,           -- when the warn_at share was first passed
  approval_state      text NOT NULL DEFAULT 'none' CHECK (approval_state IN ('none', 'pending', 'approved', 'denied')),
  approval_id         uuid,                  -- the approval row of the owner's decision
  approval_claimed_at timestamptz,           -- when a process started asking (stale claims are retaken)
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE budget_reservation (
  id          uuid NOT NULL,
  scope       text NOT NULL REFERENCES budget_ledger(scope) ON DELETE CASCADE,
  usd         numeric(14, 8) NOT NULL,
  tokens      bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (id, scope)
);
CREATE INDEX budget_reservation_scope_idx ON budget_reservation (scope, expires_at);

-- A run and every run under it (parent_run_id, migration 0009).
CREATE FUNCTION steward_run_tree(root uuid) RETURNS TABLE (run_id uuid) LANGUAGE sql STABLE AS $$
  WITH RECURSIVE tree(id, depth) AS (
    SELECT root, 0
    UNION ALL
    SELECT r.id, tree.depth + 1 FROM run r JOIN tree ON r.parent_run_id = tree.id WHERE tree.depth < 64
  )
  SELECT id FROM tree
$$;

-- Cost of a run with its child runs: what `steward runs` and the workflow budget show.
CREATE FUNCTION steward_run_cost(root uuid)
RETURNS TABLE (model_calls bigint, prompt_tokens bigint, completion_tokens bigint, cost_usd numeric)
LANGUAGE sql STABLE AS $$
  SELECT count(*), coalesce(sum(m.prompt_tokens), 0)::bigint, coalesce(sum(m.completion_tokens), 0)::bigint,
         coalesce(sum(m.cost_usd), 0)
  FROM model_call m WHERE m.run_id IN (SELECT run_id FROM steward_run_tree(root))
$$;

-- Roll-ups. Days are UTC days. The user is the owner (Steward has one user).
CREATE VIEW cost_by_run AS
  SELECT m.run_id, count(*) AS model_calls, sum(m.prompt_tokens)::bigint AS prompt_tokens,
         sum(m.completion_tokens)::bigint AS completion_tokens, sum(m.cost_usd) AS cost_usd,
         min(m.created_at) AS first_call_at, max(m.created_at) AS last_call_at
  FROM model_call m WHERE m.run_id IS NOT NULL GROUP BY m.run_id;

CREATE VIEW cost_by_agent AS
  SELECT r.agent, (m.created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS model_calls,
         sum(m.prompt_tokens)::bigint AS prompt_tokens, sum(m.completion_tokens)::bigint AS completion_tokens,
         sum(m.cost_usd) AS cost_usd
  FROM model_call m JOIN run r ON r.id = m.run_id WHERE r.agent IS NOT NULL GROUP BY r.agent, day;

CREATE VIEW cost_by_workflow AS
  SELECT r.id AS run_id, r.workflow, r.status, r.started_at, c.model_calls, c.prompt_tokens, c.completion_tokens,
         c.cost_usd
  FROM run r CROSS JOIN LATERAL steward_run_cost(r.id) c
  WHERE r.kind = 'workflow' AND r.parent_run_id IS NULL;

CREATE VIEW cost_by_day AS
  SELECT (m.created_at AT TIME ZONE 'UTC')::date AS day, m.model, count(*) AS model_calls,
         sum(m.prompt_tokens)::bigint AS prompt_tokens, sum(m.completion_tokens)::bigint AS completion_tokens,
         sum(m.cost_usd) AS cost_usd
  FROM model_call m GROUP BY day, m.model;

CREATE VIEW cost_by_user_day AS
  SELECT 'owner'::text AS "user", (m.created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS model_calls,
         sum(m.prompt_tokens)::bigint AS prompt_tokens, sum(m.completion_tokens)::bigint AS completion_tokens,
         sum(m.cost_usd) AS cost_usd
  FROM model_call m GROUP BY day;
