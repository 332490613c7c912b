-- Trace spans: every span the core records or a worker reports, kept for Steward's own views
-- (`steward trace RUN`) whether or not an OTLP collector is configured. Written in batches by the
-- tracer's flush thread (core/src/telemetry/span_store.cpp); attributes are redacted before.

CREATE TABLE span (
  trace_id        text NOT NULL,              -- 32 hex chars (W3C)
  span_id         text NOT NULL,              -- 16 hex chars
  parent_span_id  text,                       -- null for a trace's root
  run_id          uuid,                       -- the run it belongs to; no foreign key: spans may
                                              -- arrive for runs of another database or none
  name            text NOT NULL,
  kind            text NOT NULL DEFAULT 'internal'
                  CHECK (kind IN ('internal', 'server', 'client', 'producer', 'consumer')),
  start_ns        bigint NOT NULL,            -- unix nanoseconds
  end_ns          bigint NOT NULL,
  duration_ms     double precision NOT NULL,
  status          text NOT NULL DEFAULT 'unset' CHECK (status IN ('unset', 'ok', 'error')),
  status_message  text,
  attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
  service         text NOT NULL,              -- resource service.name: the core's or a worker's
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX span_run_idx ON span (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX span_created_idx ON span (created_at);
