#include "memory/detail/index_store.hpp"

#include <cstdlib>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "memory/session_store.hpp"

namespace steward::memory::detail {

namespace {

using nlohmann::json;

constexpr const char* kIsoUtc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
constexpr size_t kMaxContentBytes = 64u << 20;
constexpr int kLoadPage = 5000;

std::string RunIdOrEmpty(const AccessContext& ctx) { return IsUuid(ctx.run_id) ? ctx.run_id : std::string(); }

// "{0.1,0.2,...}" as PostgreSQL prints real[].
std::vector<float> ParseRealArray(const std::string& text) {
  std::vector<float> v;
  const char* p = text.c_str();
  if (*p == '{') ++p;
  while (*p != '\0' && *p != '}') {
    char* end = nullptr;
    const float x = std::strtof(p, &end);
    if (end == p) break;
    v.push_back(x);
    p = end;
    if (*p == ',') ++p;
  }
  return v;
}

json VectorsJson(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors) {
  json rows = json::array();
  for (const auto& [id, v] : vectors) rows.push_back({{"id", id}, {"emb", v}});
  return rows;
}

}  // namespace

bool IsStorableUtf8(std::string_view s, size_t* bad_offset) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    if (c == 0) {
      len = 0;
    } else if (c < 0x80) {
      len = 1;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    } else if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

Status ValidateItem(const ItemInput& item) {
  if (item.type.empty()) return MakeError(ErrorCode::kInvalidArgument, "an item needs a type (e.g. note, document)", "type");
  if (item.content.size() > kMaxContentBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "content is " + std::to_string(item.content.size()) + " bytes; at most " +
                         std::to_string(kMaxContentBytes) + " are stored per item",
                     "content");
  }
  const std::pair<const char*, const std::string*> texts[] = {
      {"content", &item.content}, {"title", &item.title}, {"source", &item.source}, {"type", &item.type}};
  for (const auto& [field, text] : texts) {
    size_t bad = 0;
    if (!IsStorableUtf8(*text, &bad)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(field) + " is not valid UTF-8 text (bad byte at offset " + std::to_string(bad) +
                           "); decode it to UTF-8 first",
                       field);
    }
  }
  if (!item.metadata.is_null() && !item.metadata.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "metadata must be a JSON object", "metadata");
  }
  return Status::Ok();
}

std::string EmbeddingText(const std::string& title, const std::string& content) {
  if (title.empty() || content.rfind(title, 0) == 0) return content;
  return title + "\n" + content;
}

Result<ModelRecord> RegisterModel(store::Database& db, Embedder& embedder) {
  ModelRecord record;
  record.name = embedder.model();
  int dimension = embedder.dimension();
  if (dimension <= 0) {
    auto probe = embedder.Embed({"dimension probe"});
    if (probe.ok()) dimension = probe->dimension;
  }
  if (dimension <= 0) {
    // The server is down and no dimension is configured: reuse what was recorded for this model.
    auto known = db.Read([&](pqxx::read_transaction& tx) {
      const auto r = tx.exec_params("SELECT dimension FROM embedding_model WHERE name = $1", record.name);
      return r.empty() ? 0 : r[0][0].as<int>();
    });
    if (known.ok()) dimension = *known;
  }
  if (dimension <= 0) {
    spdlog::warn("memory: the dimension of embedding model {} is unknown (the provider did not answer and "
                 "memory.embeddings.dimension is not set); vector search is off until restart",
                 record.name);
    return record;
  }
  record.dimension = dimension;
  auto id = db.Transact([&](pqxx::work& tx) {
    tx.exec_params("UPDATE embedding_model SET is_current = false WHERE is_current AND name <> $1", record.name);
    const pqxx::row row = tx.exec_params1(
        "INSERT INTO embedding_model (name, dimension, is_current) VALUES ($1, $2, true)"
        " ON CONFLICT (name) DO UPDATE SET is_current = true, last_used_at = now(), dimension = EXCLUDED.dimension"
        " RETURNING id",
        record.name, dimension);
    const int model_id = row[0].as<int>();
    // Same name, new dimension (e.g. a different `dimensions` setting): those vectors are unusable.
    tx.exec_params(
        "UPDATE memory_chunk SET embedding = NULL, embedding_model_id = NULL, embedded_at = NULL"
        " WHERE embedding_model_id = $1 AND array_length(embedding, 1) <> $2",
        model_id, dimension);
    return model_id;
  });
  if (!id.ok()) return id.error();
  record.id = *id;
  return record;
}

Result<bool> EnsurePgvector(store::Database& db) {
  auto present = db.Read([](pqxx::read_transaction& tx) {
    return !tx.exec("SELECT 1 FROM pg_extension WHERE extname = 'vector'").empty();
  });
  if (!present.ok()) return present.error();
  if (*present) return true;
  const Status created = db.Transact([](pqxx::work& tx) { tx.exec("CREATE EXTENSION IF NOT EXISTS vector"); });
  if (!created.ok()) {
    spdlog::info("memory: pgvector is not available ({}); vector search uses the in-core hnswlib index",
                 created.error().message);
    return false;
  }
  return true;
}

Status EnsurePgvectorIndex(store::Database& db, int model_id, int dimension) {
  const std::string id = std::to_string(model_id);
  return db.Transact([&](pqxx::work& tx) {
    tx.exec("CREATE INDEX IF NOT EXISTS memory_chunk_hnsw_m" + id +
            " ON memory_chunk USING hnsw ((embedding::vector(" + std::to_string(dimension) +
            ")) vector_cosine_ops) WHERE embedding_model_id = " + id);
  });
}

Status LoadVectors(store::Database& db, int model_id, VectorIndex& index) {
  int64_t after = 0;
  while (true) {
    auto page = db.Read([&](pqxx::read_transaction& tx) {
      std::vector<std::pair<int64_t, std::vector<float>>> rows;
      for (const auto& row : tx.exec_params("SELECT id, embedding::text FROM memory_chunk"
                                            " WHERE embedding_model_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                                            model_id, after, kLoadPage)) {
        rows.emplace_back(row[0].as<int64_t>(), ParseRealArray(row[1].as<std::string>()));
      }
      return rows;
    });
    if (!page.ok()) return page.error();
    if (page->empty()) return Status::Ok();
    after = page->back().first;
    STEWARD_RETURN_IF_ERROR(index.UpsertMany(*page, 2));
  }
}

Result<int> BackfillChunks(store::Database& db, const MemoryIndexOptions& options) {
  int total = 0;
  while (true) {
    auto done = db.Transact([&](pqxx::work& tx) {
      const auto items = tx.exec(
          "SELECT i.id, i.title, i.content FROM memory_item i"
          " WHERE NOT EXISTS (SELECT 1 FROM memory_chunk c WHERE c.item_id = i.id) ORDER BY i.id LIMIT 200");
      for (const auto& row : items) {
        const std::string content = row[2].as<std::string>();
        auto chunks = ChunkText(content, ChunkerOptions{options.chunk_tokens, options.chunk_overlap});
        if (chunks.empty()) chunks.push_back(Chunk{0, content.size(), 0, content});
        json rows = json::array();
        for (size_t i = 0; i < chunks.size(); ++i) {
          rows.push_back({{"o", i}, {"c", chunks[i].text}, {"s", chunks[i].start}, {"e", chunks[i].end}});
        }
        tx.exec_params(
            "INSERT INTO memory_chunk (item_id, ordinal, heading, content, start_offset, end_offset)"
            " SELECT $1, t.o, $2, t.c, t.s, t.e FROM jsonb_to_recordset($3::jsonb) AS t(o int, c text, s int, e int)",
            row[0].as<int64_t>(), row[1].as<std::string>(), rows.dump());
      }
      return static_cast<int>(items.size());
    });
    if (!done.ok()) return done.error();
    total += *done;
    if (*done == 0) return total;
  }
}

Result<std::vector<Existing>> LookupSources(store::Database& db, const std::vector<ItemInput>& items,
                                            const std::vector<bool>& todo) {
  json rows = json::array();
  for (size_t i = 0; i < items.size(); ++i) {
    if (!todo[i]) continue;
    rows.push_back({{"ord", i},
                    {"source", items[i].source},
                    {"hash", items[i].content_hash},
                    {"content", items[i].content_hash.empty() ? items[i].content : std::string()}});
  }
  return db.Read([&](pqxx::read_transaction& tx) {
    std::vector<Existing> out(items.size());
    const auto r = tx.exec_params(
        std::string("SELECT t.ord, COALESCE(i.id, 0), COALESCE(i.content_hash, ''),"
                    " COALESCE(NULLIF(t.hash, ''), md5(t.content)), COALESCE(to_char(i.created_at AT TIME ZONE 'UTC', ") +
            kIsoUtc + "), '')"
                      " FROM jsonb_to_recordset($1::jsonb) AS t(ord int, source text, hash text, content text)"
                      " LEFT JOIN LATERAL (SELECT m.id, m.content_hash, m.created_at FROM memory_item m"
                      "   WHERE t.source <> '' AND m.source = t.source AND m.valid_to IS NULL"
                      "   ORDER BY m.id DESC LIMIT 1) i ON true",
        rows.dump(-1, ' ', false, json::error_handler_t::replace));
    for (const auto& row : r) {
      Existing& e = out[row[0].as<size_t>()];
      e.id = row[1].as<int64_t>();
      e.hash = row[2].as<std::string>();
      e.new_hash = row[3].as<std::string>();
      e.created_at = row[4].as<std::string>();
    }
    return out;
  });
}

Result<Written> WriteItem(store::Database& db, const ItemInput& item, PreparedItem& prepared, bool always_add,
                          int model_id, const AccessContext& ctx) {
  const bool versioned = !always_add && !item.source.empty();
  json metadata = item.metadata.is_object() ? item.metadata : json::object();
  return db.Transact([&](pqxx::work& tx) -> Result<Written> {
    Written w;
    int64_t previous = 0;
    if (versioned) {
      // Two ingests of one file must not both create a version.
      tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", item.source);
      const auto r = tx.exec_params(
          "SELECT id, content_hash, COALESCE(NULLIF($2, ''), md5($3)) FROM memory_item"
          " WHERE source = $1 AND valid_to IS NULL ORDER BY id DESC LIMIT 1",
          item.source, prepared.hash, prepared.hash.empty() ? item.content : std::string());
      if (!r.empty()) {
        previous = r[0][0].as<int64_t>();
        if (r[0][1].as<std::string>() == r[0][2].as<std::string>()) {
          w.item = IndexedItem{previous, IndexOutcome::kUnchanged, 0, 0, ""};
          return w;
        }
      }
    }
    const pqxx::row row = tx.exec_params1(
        std::string("INSERT INTO memory_item (type, title, source, content, metadata, content_hash,"
                    " created_at, updated_at, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5::jsonb,"
                    " COALESCE(NULLIF($6, ''), md5($4)),"
                    " COALESCE(NULLIF($7, '')::timestamptz, now()),"
                    " COALESCE(NULLIF($8, '')::timestamptz, NULLIF($7, '')::timestamptz, now()),"
                    " COALESCE(NULLIF($9, '')::timestamptz, CASE WHEN $11 THEN now() END,"
                    "          NULLIF($7, '')::timestamptz, now()),"
                    " NULLIF($10, '')::timestamptz)"
                    " RETURNING id, to_char(created_at AT TIME ZONE 'UTC', ") +
            kIsoUtc + "), valid_from",
        item.type, item.title, item.source, item.content, metadata.dump(-1, ' ', false, json::error_handler_t::replace),
        prepared.hash, item.created_at, item.updated_at, item.valid_from, item.valid_to, previous > 0);
    const int64_t id = row[0].as<int64_t>();
    w.item.id = id;
    w.item.created_at = row[1].as<std::string>();
    w.item.outcome = previous > 0 ? IndexOutcome::kReplaced : IndexOutcome::kAdded;
    if (previous > 0) {
      tx.exec_params(
          "UPDATE memory_item SET valid_to = GREATEST($2::timestamptz, valid_from) WHERE id = $1 AND valid_to IS NULL",
          previous, row[2].as<std::string>());
      tx.exec_params("INSERT INTO memory_link (from_id, to_id, relation) VALUES ($1, $2, 'supersedes')"
                     " ON CONFLICT DO NOTHING",
                     id, previous);
    }
    const bool with_vectors = model_id > 0 && prepared.vectors.size() == prepared.chunks.size();
    json rows = json::array();
    for (size_t i = 0; i < prepared.chunks.size(); ++i) {
      json r{{"o", i}, {"c", prepared.chunks[i].text}, {"s", prepared.chunks[i].start}, {"e", prepared.chunks[i].end}};
      r["emb"] = with_vectors ? json(prepared.vectors[i]) : json(nullptr);
      rows.push_back(std::move(r));
    }
    const auto ids = tx.exec_params(
        "INSERT INTO memory_chunk (item_id, ordinal, heading, content, start_offset, end_offset, embedding,"
        " embedding_model_id, embedded_at)"
        " SELECT $1, t.o, $2, t.c, t.s, t.e, t.emb, CASE WHEN t.emb IS NULL THEN NULL ELSE NULLIF($4, 0) END,"
        "  CASE WHEN t.emb IS NULL THEN NULL ELSE now() END"
        " FROM jsonb_to_recordset($3::jsonb) AS t(o int, c text, s int, e int, emb real[])"
        " RETURNING id, ordinal",
        id, item.title, rows.dump(-1, ' ', false, json::error_handler_t::replace), model_id);
    w.item.chunks = static_cast<int>(ids.size());
    if (with_vectors) {
      for (const auto& r : ids) {
        w.vectors.emplace_back(r[0].as<int64_t>(), prepared.vectors[r[1].as<size_t>()]);
      }
      w.item.embedded = w.item.chunks;
    }
    tx.exec_params("INSERT INTO memory_access_log (item_id, action, query, run_id)"
                   " VALUES ($1, 'write', NULL, NULLIF($2, '')::uuid)",
                   id, RunIdOrEmpty(ctx));
    return w;
  });
}

Result<int> RetireSourceRows(store::Database& db, const std::string& source, const AccessContext& ctx) {
  return db.Transact([&](pqxx::work& tx) {
    const auto r = tx.exec_params(
        "WITH retired AS (UPDATE memory_item SET valid_to = GREATEST(now(), valid_from)"
        "   WHERE source = $1 AND valid_to IS NULL RETURNING id)"
        " INSERT INTO memory_access_log (item_id, action, query, run_id)"
        " SELECT id, 'write', 'retire', NULLIF($2, '')::uuid FROM retired RETURNING item_id",
        source, RunIdOrEmpty(ctx));
    return static_cast<int>(r.size());
  });
}

Result<std::vector<SourceEntry>> ListSourceEntries(store::Database& db, const std::string& prefix) {
  std::string like;
  for (char c : prefix) {
    if (c == '%' || c == '_' || c == '\\') like += '\\';
    like += c;
  }
  like += '%';
  return db.Read([&](pqxx::read_transaction& tx) {
    std::vector<SourceEntry> out;
    for (const auto& row : tx.exec_params(
             std::string("SELECT id, source, content_hash, to_char(updated_at AT TIME ZONE 'UTC', ") + kIsoUtc +
                 ") FROM memory_item WHERE valid_to IS NULL AND source <> '' AND source LIKE $1 ORDER BY source, id",
             like)) {
      out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>()});
    }
    return out;
  });
}

Result<std::vector<PendingChunk>> PendingChunks(store::Database& db, int model_id, int limit) {
  return db.Read([&](pqxx::read_transaction& tx) {
    std::vector<PendingChunk> out;
    for (const auto& row : tx.exec_params(
             "SELECT c.id, c.heading, c.content FROM memory_chunk c"
             " WHERE c.embedding_model_id IS NULL OR c.embedding_model_id <> $1 ORDER BY c.id LIMIT $2",
             model_id, limit)) {
      out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    return out;
  });
}

Status StoreChunkVectors(store::Database& db, int model_id,
                         const std::vector<std::pair<int64_t, std::vector<float>>>& vectors) {
  return db.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE memory_chunk c SET embedding = t.emb, embedding_model_id = $1, embedded_at = now()"
        " FROM jsonb_to_recordset($2::jsonb) AS t(id bigint, emb real[]) WHERE c.id = t.id",
        model_id, VectorsJson(vectors).dump());
  });
}

Result<int64_t> CountPending(store::Database& db, int model_id) {
  return db.Read([&](pqxx::read_transaction& tx) {
    return tx.exec_params1("SELECT count(*) FROM memory_chunk WHERE embedding_model_id IS NULL OR embedding_model_id <> $1",
                           model_id)[0]
        .as<int64_t>();
  });
}

Result<int64_t> CountChunks(store::Database& db) {
  return db.Read([](pqxx::read_transaction& tx) {
    return tx.exec1("SELECT count(*) FROM memory_chunk c JOIN memory_item i ON i.id = c.item_id"
                    " WHERE i.valid_to IS NULL OR i.valid_to > now()")[0]
        .as<int64_t>();
  });
}

}  // namespace steward::memory::detail
