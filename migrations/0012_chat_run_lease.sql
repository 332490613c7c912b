-- Chat runs are owned and leased like workflow runs (core/src/engine/chat_service.cpp; the
-- columns are 0009's): `owner` is the process running the turn, `lease_until` how long its claim
-- lasts; the owner's lease thread renews it. A chat turn cannot resume, so a chat run whose lease
-- expired (its process died) is ended as failed with code 'interrupted'
-- (core/src/engine/interrupted_chat_runs.cpp); every process on the database looks for them
-- every few seconds, hence this index over the few running chat runs.

CREATE INDEX run_chat_lease_idx ON run (lease_until) WHERE kind = 'chat' AND status = 'running';
