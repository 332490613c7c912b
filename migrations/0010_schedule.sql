-- Schedules (core/src/engine/scheduler.cpp): one row per fired tick, and per workflow the last
-- tick the schedulers have dealt with.
--
-- Exactly one fire per tick across processes: every process sharing the database computes the
-- same ticks from the same cron expression, and the one whose INSERT ... ON CONFLICT DO NOTHING
-- creates the (workflow, fire_at) row owns the tick. The row is written 'claimed' with a lease
-- and the run id the run will get, before the run is started; 'started' once it is. A process
-- that dies between the two leaves a 'claimed' row whose lease expires: any process then
-- re-claims it with one conditional UPDATE and starts the run (unless a run with that id already
-- exists), so a tick is neither lost nor run twice.

CREATE TABLE schedule_fire (
  workflow     text NOT NULL,
  fire_at      timestamptz NOT NULL,            -- the tick (the scheduled instant), not when it ran
  status       text NOT NULL CHECK (status IN ('claimed', 'started', 'failed')),
  run_id       uuid NOT NULL,                   -- the run started (or to be started) for this tick
  fired_by     text NOT NULL,                   -- the process that claimed it last
  catch_up     boolean NOT NULL DEFAULT false,  -- fired late under missed: catch_up
  attempts     integer NOT NULL DEFAULT 1,      -- starts tried
  lease_until  timestamptz NOT NULL,            -- while 'claimed': when another process may take over
  error        text,                            -- the last start failure
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  PRIMARY KEY (workflow, fire_at)
);
CREATE INDEX schedule_fire_claimed_idx ON schedule_fire (lease_until) WHERE status = 'claimed';

CREATE TABLE schedule_state (
  workflow    text PRIMARY KEY,
  cron        text NOT NULL,       -- the expression and zone last_tick was computed with; a
  timezone    text NOT NULL,       -- changed schedule starts afresh (no catch-up of old ticks)
  last_tick   timestamptz NOT NULL, -- the latest tick fired or skipped on purpose
  updated_at  timestamptz NOT NULL DEFAULT now()
);
