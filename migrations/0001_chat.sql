-- Chat sessions, messages, runs and model calls: the spine every later feature hangs on.

CREATE TABLE chat_session (
  id          uuid PRIMARY KEY,
  title       text NOT NULL DEFAULT '',
  agent       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE chat_message (
  id          bigserial PRIMARY KEY,
  session_id  uuid NOT NULL REFERENCES chat_session(id) ON DELETE CASCADE,
  role        text NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
  content     text NOT NULL,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  search      tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED
);
CREATE INDEX chat_message_session_idx ON chat_message (session_id, id);
CREATE INDEX chat_message_search_idx ON chat_message USING gin (search);
CREATE INDEX chat_message_created_idx ON chat_message (created_at);

-- One execution of an agent (a chat turn) or of a workflow.
CREATE TABLE run (
  id            uuid PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('chat', 'workflow')),
  agent         text,
  runner        text,
  session_id    uuid REFERENCES chat_session(id) ON DELETE SET NULL,
  status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'denied', 'timed_out')),
  trace_id      text NOT NULL,
  error         jsonb,
  confidence    integer,
  stats         jsonb NOT NULL DEFAULT '{}'::jsonb,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX run_started_idx ON run (started_at DESC);
CREATE INDEX run_session_idx ON run (session_id);

-- Every call through the model gateway, attributed to its run when it has one.
CREATE TABLE model_call (
  id                 bigserial PRIMARY KEY,
  run_id             uuid REFERENCES run(id) ON DELETE SET NULL,
  model              text NOT NULL,
  provider           text NOT NULL,
  upstream_model     text NOT NULL,
  prompt_tokens      bigint NOT NULL DEFAULT 0,
  completion_tokens  bigint NOT NULL DEFAULT 0,
  cost_usd           numeric(14, 8) NOT NULL DEFAULT 0,
  duration_ms        double precision NOT NULL,
  first_token_ms     double precision,
  status             text NOT NULL,
  error              text,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_call_run_idx ON model_call (run_id);
CREATE INDEX model_call_created_idx ON model_call (created_at);
