-- The outbox of the built-in email tools: every message email.send tried to send and every
-- email.draft, with its outcome. An idempotency key, when given, is unique: a send whose key is
-- already here is never sent again. A row stays 'sending' if the process died mid-send; it is
-- then neither retried nor resent automatically, because the message may have gone out.
-- run_id has no foreign key, as in approval: the record must outlive runs and never make a
-- tool call fail.

CREATE TABLE email_outbox (
  id               bigserial PRIMARY KEY,
  idempotency_key  text UNIQUE,
  status           text NOT NULL CHECK (status IN ('draft', 'sending', 'sent', 'failed')),
  from_addr        text NOT NULL,
  to_addrs         text[] NOT NULL,
  cc_addrs         text[] NOT NULL DEFAULT '{}',
  subject          text NOT NULL,
  body             text NOT NULL,
  html             text,
  message_id       text,
  error            text,
  run_id           uuid,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX email_outbox_created_idx ON email_outbox (created_at DESC);
CREATE INDEX email_outbox_run_idx ON email_outbox (run_id);
