-- Long-term memory: items (notes, facts, documents and their chunks), links between them, and a
-- log of every read, write and search, so what the assistant remembered and used is auditable.

CREATE TABLE memory_item (
  id          bigserial PRIMARY KEY,
  type        text NOT NULL CHECK (type <> ''),      -- 'note', 'fact', 'document', 'chunk', ...
  title       text NOT NULL DEFAULT '',
  source      text NOT NULL DEFAULT '',              -- 'conversation:<session uuid>', a path, a URL
  content     text NOT NULL,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  embedding   real[],                                -- null until an embedder has seen the item
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  valid_from  timestamptz NOT NULL DEFAULT now(),
  valid_to    timestamptz,                           -- null: still true; set when superseded
  -- Title words weigh more than body words in ts_rank.
  search      tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', title), 'A') ||
                setweight(to_tsvector('english', content), 'B')) STORED,
  CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX memory_item_search_idx ON memory_item USING gin (search);
CREATE INDEX memory_item_created_idx ON memory_item (created_at);
CREATE INDEX memory_item_source_idx ON memory_item (source);

CREATE TABLE memory_link (
  from_id     bigint NOT NULL REFERENCES memory_item(id) ON DELETE CASCADE,
  to_id       bigint NOT NULL REFERENCES memory_item(id) ON DELETE CASCADE,
  relation    text NOT NULL CHECK (relation <> ''),  -- 'part_of', 'mentions', 'supersedes', ...
  weight      real NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (from_id, to_id, relation)
);
CREATE INDEX memory_link_to_idx ON memory_link (to_id);

-- Written in the same transaction as the access it records. run_id has no foreign key: a log
-- row must never make a tool call fail, and runs may be pruned while their history is kept.
CREATE TABLE memory_access_log (
  id          bigserial PRIMARY KEY,
  item_id     bigint REFERENCES memory_item(id) ON DELETE SET NULL,
  action      text NOT NULL CHECK (action IN ('read', 'write', 'search')),
  query       text,
  run_id      uuid,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX memory_access_log_item_idx ON memory_access_log (item_id);
CREATE INDEX memory_access_log_at_idx ON memory_access_log (at);
