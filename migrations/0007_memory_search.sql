-- Hybrid memory search: items are split into overlapping chunks (memory/chunker.cpp), each with
-- its own full-text vector and embedding; the embedding model in use is recorded so a change of
-- model is noticed and everything is re-embedded in the background. Embeddings are real[] so the
-- schema does not depend on pgvector: when the server has it, memory/memory_index.cpp adds an
-- HNSW expression index per model (embedding::vector(dim)); otherwise the core serves vector
-- queries from an in-memory hnswlib index rebuilt from these rows.

-- Content hash of an item (what ingestion compares to skip unchanged files).
ALTER TABLE memory_item ADD COLUMN content_hash text NOT NULL DEFAULT '';
CREATE INDEX memory_item_valid_source_idx ON memory_item (source) WHERE valid_to IS NULL;
CREATE INDEX memory_item_updated_idx ON memory_item (updated_at);
CREATE INDEX memory_item_validity_idx ON memory_item (valid_from, valid_to);
CREATE INDEX memory_item_metadata_idx ON memory_item USING gin (metadata jsonb_path_ops);
CREATE INDEX memory_item_type_idx ON memory_item (type);

CREATE TABLE embedding_model (
  id            serial PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name <> ''),  -- e.g. 'local:all-MiniLM-L6-v2'
  dimension     integer NOT NULL CHECK (dimension > 0),
  is_current    boolean NOT NULL DEFAULT false,
  first_used_at timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one model is current: the one whose vectors searches use.
CREATE UNIQUE INDEX embedding_model_current_idx ON embedding_model (is_current) WHERE is_current;

CREATE TABLE memory_chunk (
  id                 bigserial PRIMARY KEY,
  item_id            bigint NOT NULL REFERENCES memory_item(id) ON DELETE CASCADE,
  ordinal            integer NOT NULL CHECK (ordinal >= 0),
  heading            text NOT NULL DEFAULT '',  -- the item's title, weighted above the body
  content            text NOT NULL,
  start_offset       integer NOT NULL CHECK (start_offset >= 0),  -- bytes into memory_item.content
  end_offset         integer NOT NULL CHECK (end_offset >= start_offset),
  search             tsvector GENERATED ALWAYS AS (
                       setweight(to_tsvector('english', heading), 'A') ||
                       setweight(to_tsvector('english', content), 'B')) STORED,
  embedding          real[],   -- unit length; null until embedded
  embedding_model_id integer REFERENCES embedding_model(id),
  embedded_at        timestamptz,
  UNIQUE (item_id, ordinal)
);
CREATE INDEX memory_chunk_search_idx ON memory_chunk USING gin (search);
-- The background re-embedder walks chunks without a vector of the current model by id.
CREATE INDEX memory_chunk_model_idx ON memory_chunk (embedding_model_id, id);
