#include "memory/hybrid_search.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include <pqxx/pqxx>

#include "memory/session_store.hpp"
#include "tools/glob.hpp"

namespace steward::memory {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kExcerptBytes = 320;
// A relaxed (any-word) full-text match counts only with at least this share of the query's words.
constexpr double kMinRelaxedCoverage = 0.5;
// With selective filters and at most this many candidate chunks, vectors are scored exactly.
constexpr int kExactScoreLimit = 20000;
constexpr const char* kIsoUtc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

double Ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// The WHERE conditions on memory_item `i` for the filters in parameter $1 (a JSON object).
std::string FilterSql(const json& p) {
  std::string sql;
  const auto add = [&](const std::string& cond) { sql += " AND " + cond; };
  const std::string j = "($1::jsonb";
  // $1 is always referenced, so PostgreSQL knows its type even when no filter uses it (a one-time
  // filter in the plan, not a per-row check).
  add("$1::jsonb IS NOT NULL");
  if (p.contains("include_expired")) {
    // everything, whatever its validity
  } else if (p.contains("as_of")) {
    add("i.valid_from <= " + j + "->>'as_of')::timestamptz");
    add("(i.valid_to IS NULL OR i.valid_to > " + j + "->>'as_of')::timestamptz)");
  } else {
    add("(i.valid_to IS NULL OR i.valid_to > now())");
  }
  if (p.contains("types")) add("i.type = ANY (ARRAY(SELECT jsonb_array_elements_text(" + j + "->'types'))))");
  if (p.contains("source_like")) add("i.source LIKE " + j + "->>'source_like')");
  if (p.contains("metadata")) add("i.metadata @> " + j + "->'metadata')");
  if (p.contains("created_from")) add("i.created_at >= " + j + "->>'created_from')::timestamptz");
  if (p.contains("created_to")) add("i.created_at < " + j + "->>'created_to')::timestamptz");
  if (p.contains("updated_from")) add("i.updated_at >= " + j + "->>'updated_from')::timestamptz");
  if (p.contains("updated_to")) add("i.updated_at < " + j + "->>'updated_to')::timestamptz");
  // Dates kept in metadata are compared as ISO text: no cast can fail on a malformed value.
  const std::string meta_date = "(i.metadata->>(" + j + "->>'date_key'))) COLLATE \"C\"";
  if (p.contains("date_from")) add(meta_date + " >= " + j + "->>'date_from')");
  if (p.contains("date_to")) add(meta_date + " < " + j + "->>'date_to')");
  if (p.contains("window_from")) {
    add("((i.created_at >= " + j + "->>'window_from')::timestamptz AND i.created_at < " + j +
        "->>'window_to')::timestamptz) OR ((i.metadata->>'date') COLLATE \"C\" >= " + j +
        "->>'window_date_from') AND (i.metadata->>'date') COLLATE \"C\" < " + j + "->>'window_date_to')))");
  }
  return sql;
}

// Keeps the first (best) chunk of each item, in order.
std::vector<RankedItem> BestPerItem(const std::vector<RankedItem>& chunks) {
  std::vector<RankedItem> out;
  std::unordered_set<int64_t> seen;
  for (const auto& c : chunks) {
    if (seen.insert(c.item_id).second) out.push_back(c);
  }
  return out;
}

std::vector<std::string> QueryWords(const std::string& query) {
  std::vector<std::string> words;
  std::string cur;
  const auto flush = [&] {
    if (cur.size() >= 3) words.push_back(cur.size() > 5 ? cur.substr(0, 5) : cur);  // crude stem
    cur.clear();
  };
  for (unsigned char c : query) {
    if (std::isalnum(c) || c >= 0x80) {
      cur.push_back(static_cast<char>(std::tolower(c)));
    } else {
      flush();
    }
  }
  flush();
  return words;
}

std::string CutUtf8(std::string_view text, size_t start, size_t max_bytes) {
  while (start > 0 && start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  if (start >= text.size()) return {};
  size_t end = std::min(text.size(), start + max_bytes);
  while (end < text.size() && end > start && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(start, end - start));
}

// A window of the chunk around the first query word, with "…" where it was cut.
std::string Excerpt(const std::string& content, const std::vector<std::string>& words) {
  if (content.size() <= kExcerptBytes) return content;
  std::string lower = content;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t hit = std::string::npos;
  for (const auto& w : words) hit = std::min(hit, lower.find(w));
  if (hit == std::string::npos) hit = 0;
  size_t start = hit > kExcerptBytes / 3 ? hit - kExcerptBytes / 3 : 0;
  if (start > 0) {
    const size_t space = content.find(' ', start);
    if (space != std::string::npos && space < hit) start = space + 1;
  }
  std::string out = CutUtf8(content, start, kExcerptBytes);
  const bool cut_end = start + out.size() < content.size();
  return (start > 0 ? "…" : "") + out + (cut_end ? "…" : "");
}

std::string IdArray(const std::vector<int64_t>& ids) {
  std::string s = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "}";
}

struct Collected {
  std::vector<RankedItem> text, vector;
  json sql = json::array();
  json timings = json::object();
  json notes = json::array();
  std::vector<SearchHit> hits;
};

}  // namespace

std::string ArrayLiteral(const std::vector<float>& v, char open, char close) {
  std::string s(1, open);
  s.reserve(v.size() * 11 + 2);
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(v[i]));
    s += buf;
  }
  s += close;
  return s;
}

std::vector<FusedItem> FuseRanks(const std::vector<RankedItem>& text, const std::vector<RankedItem>& vector,
                                 double text_weight, double vector_weight, double k) {
  std::vector<FusedItem> fused;
  std::unordered_map<int64_t, size_t> index;
  const auto add = [&](const std::vector<RankedItem>& list, double weight, bool is_text) {
    for (size_t r = 0; r < list.size(); ++r) {
      const auto [it, fresh] = index.try_emplace(list[r].item_id, fused.size());
      if (fresh) fused.push_back(FusedItem{list[r].item_id, list[r].chunk_id, 0, std::nullopt, std::nullopt});
      FusedItem& f = fused[it->second];
      f.rrf += weight * list[r].weight / (k + static_cast<double>(r + 1));
      (is_text ? f.text_rank : f.vector_rank) = static_cast<int>(r + 1);
    }
  };
  // The chunk shown is the one from the heavier path (full-text first on a tie: it has the words).
  if (vector_weight > text_weight) {
    add(vector, vector_weight, false);
    add(text, text_weight, true);
  } else {
    add(text, text_weight, true);
    add(vector, vector_weight, false);
  }
  std::stable_sort(fused.begin(), fused.end(), [](const FusedItem& a, const FusedItem& b) { return a.rrf > b.rrf; });
  return fused;
}

double RecencyBoost(double age_days, double half_life_days, double weight) {
  if (weight <= 0 || half_life_days <= 0) return 1.0;
  return 1.0 + weight * std::pow(0.5, std::max(0.0, age_days) / half_life_days);
}

double SourceAuthority(const std::string& source, const std::map<std::string, double>& globs) {
  for (const auto& [glob, weight] : globs) {
    if (tools::GlobMatch(glob, source)) return weight;
  }
  return 1.0;
}

Result<SearchResponse> ExecuteSearch(const QueryPlan& plan, const SearchBackend& backend,
                                     const std::vector<float>& query_vector, const AccessContext& ctx,
                                     bool explain) {
  const json filters = plan.filters.ToParam();
  const std::string where = FilterSql(filters);
  const std::string params = filters.dump();
  const std::vector<std::string> words = QueryWords(plan.text_query);
  const auto started = Clock::now();

  auto collected = backend.db->Transact([&](pqxx::work& tx) -> Result<Collected> {
    Collected c;
    // A query of only stop words makes PostgreSQL print a NOTICE per parse.
    // The only write is the audit row of a read: not worth a WAL flush on every search (a crash
    // loses at most the last few search log rows, never a note or a document).
    tx.exec("SET LOCAL client_min_messages TO warning; SET LOCAL synchronous_commit TO off");
    const int depth = plan.candidates;

    if (plan.order_by_time) {
      auto t = Clock::now();
      const std::string sql =
          "SELECT i.id, COALESCE((SELECT c.id FROM memory_chunk c WHERE c.item_id = i.id ORDER BY c.ordinal LIMIT 1), 0)"
          " FROM memory_item i WHERE TRUE" + where + " ORDER BY i.created_at DESC, i.id DESC LIMIT $2";
      for (const auto& row : tx.exec_params(sql, params, plan.limit)) {
        c.text.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(), 0});
      }
      if (explain) c.sql.push_back({{"step", "newest first"}, {"sql", sql}});
      c.timings["list_ms"] = Ms(t);
    }

    if (plan.use_fulltext && !plan.order_by_time) {
      auto t = Clock::now();
      const auto run = [&](const std::string& tsquery, bool relaxed) {
        std::string sql =
            "SELECT c.id, c.item_id, ts_rank_cd(c.search, q) AS r FROM memory_chunk c"
            " JOIN memory_item i ON i.id = c.item_id, " + tsquery + " AS q(q)"
            " WHERE c.search @@ q" + where + " ORDER BY r DESC, c.id LIMIT $3";
        if (relaxed) {
          // The share of the query's words each candidate has: a chunk sharing one common word
          // with a long question is weak evidence, and RRF alone would rank it like a full match.
          sql = "SELECT s.id, s.item_id, s.r, (SELECT count(*) FROM unnest(w.words) AS l(w)"
                "  WHERE s.search @@ quote_literal(l.w)::tsquery)::float8 / GREATEST(1, cardinality(w.words)) AS cov"
                " FROM (" + std::string("SELECT c.id, c.item_id, c.search, ts_rank_cd(c.search, q) AS r FROM memory_chunk c"
                " JOIN memory_item i ON i.id = c.item_id, ") + tsquery + " AS q(q)"
                " WHERE c.search @@ q" + where + " ORDER BY r DESC, c.id LIMIT $3) s,"
                " (SELECT tsvector_to_array(to_tsvector('english', $2)) AS words) w"
                " ORDER BY cov DESC, s.r DESC, s.id";
        }
        std::vector<RankedItem> chunks;
        for (const auto& row : tx.exec_params(sql, params, plan.text_query, depth * 2)) {
          const double coverage = relaxed ? row[3].as<double>() : 1.0;
          // Like a search engine's minimum-should-match: under half the words is noise, and
          // with RRF even a little noise reorders the near-ties of the vector list.
          if (coverage < kMinRelaxedCoverage) continue;
          chunks.push_back({row[1].as<int64_t>(), row[0].as<int64_t>(), row[2].as<double>(),
                            relaxed ? 0.5 * coverage : 1.0});
        }
        if (explain) c.sql.push_back({{"step", relaxed ? "fulltext (relaxed to any word)" : "fulltext"}, {"sql", sql}});
        return BestPerItem(chunks);
      };
      c.text = run("websearch_to_tsquery('english', $2)", false);
      if (static_cast<int>(c.text.size()) < plan.limit) {
        // Every word was required; relax to any word so partial matches still rank, weighted by
        // how many of the words they have.
        auto relaxed = run("(SELECT NULLIF(replace(websearch_to_tsquery('english', $2)::text, '&', '|'), '')::tsquery)", true);
        std::unordered_set<int64_t> have;
        for (const auto& r : c.text) have.insert(r.item_id);
        for (auto& r : relaxed) {
          if (have.insert(r.item_id).second) c.text.push_back(r);
        }
        c.notes.push_back("fulltext: fewer than " + std::to_string(plan.limit) +
                          " items matched every word; relaxed to items with at least half of the words, weighted by the share");
      }
      if (static_cast<int>(c.text.size()) > depth) c.text.resize(static_cast<size_t>(depth));
      c.timings["fulltext_ms"] = Ms(t);
    }

    if (plan.use_vector && !plan.order_by_time && !query_vector.empty() && backend.model_id > 0) {
      auto t = Clock::now();
      const std::string dim = std::to_string(backend.dimension);
      const std::string model = std::to_string(backend.model_id);
      std::vector<RankedItem> chunks;
      if (plan.vector_backend == "pgvector") {
        tx.exec("SET LOCAL hnsw.ef_search = " + std::to_string(std::max(64, depth * 2)));
        // The partial index's predicate (embedding_model_id = M) must appear literally.
        const std::string sql =
            "SELECT c.id, c.item_id, 1 - (c.embedding::vector(" + dim + ") <=> $2::vector(" + dim + ")) AS sim"
            " FROM memory_chunk c JOIN memory_item i ON i.id = c.item_id"
            " WHERE c.embedding_model_id = " + model + where +
            " ORDER BY c.embedding::vector(" + dim + ") <=> $2::vector(" + dim + ") LIMIT $3";
        for (const auto& row : tx.exec_params(sql, params, ArrayLiteral(query_vector, '[', ']'), depth * 2)) {
          chunks.push_back({row[1].as<int64_t>(), row[0].as<int64_t>(), row[2].as<double>()});
        }
        if (explain) c.sql.push_back({{"step", "vector (pgvector)"}, {"sql", sql}});
      } else if (backend.ann != nullptr) {
        std::vector<VectorMatch> matches;
        bool exact = false;
        if (plan.filters.Selective()) {
          const std::string sql = "SELECT c.id FROM memory_chunk c JOIN memory_item i ON i.id = c.item_id"
                                  " WHERE c.embedding_model_id = " + model + where + " LIMIT $2";
          std::vector<int64_t> ids;
          for (const auto& row : tx.exec_params(sql, params, kExactScoreLimit + 1)) ids.push_back(row[0].as<int64_t>());
          if (explain) c.sql.push_back({{"step", "vector candidates (filters)"}, {"sql", sql}});
          if (static_cast<int>(ids.size()) <= kExactScoreLimit) {
            matches = backend.ann->ScoreExact(query_vector, ids, static_cast<size_t>(depth * 2));
            exact = true;
            c.notes.push_back("vector: exact scoring of " + std::to_string(ids.size()) + " filtered chunks");
          }
        }
        if (!exact) {
          // Over-fetch: the filters (validity at least) are checked in PostgreSQL afterwards.
          const size_t want = static_cast<size_t>(depth) * (plan.filters.Selective() ? 20 : 4);
          matches = backend.ann->Search(query_vector, want);
          std::vector<int64_t> ids;
          ids.reserve(matches.size());
          for (const auto& m : matches) ids.push_back(m.id);
          const std::string sql = "SELECT c.id, c.item_id FROM memory_chunk c JOIN memory_item i ON i.id = c.item_id"
                                  " WHERE c.id = ANY ($2::bigint[])" + where;
          std::unordered_map<int64_t, int64_t> item_of;
          for (const auto& row : tx.exec_params(sql, params, IdArray(ids))) {
            item_of.emplace(row[0].as<int64_t>(), row[1].as<int64_t>());
          }
          if (explain) c.sql.push_back({{"step", "vector filter check (hnswlib candidates)"}, {"sql", sql}});
          for (const auto& m : matches) {
            const auto it = item_of.find(m.id);
            if (it != item_of.end()) chunks.push_back({it->second, m.id, m.similarity});
          }
          c.notes.push_back("vector: hnswlib returned " + std::to_string(matches.size()) + " chunks, " +
                            std::to_string(chunks.size()) + " passed the filters");
        } else {
          std::vector<int64_t> ids;
          for (const auto& m : matches) ids.push_back(m.id);
          const std::string sql = "SELECT id, item_id FROM memory_chunk WHERE id = ANY ($1::bigint[])";
          std::unordered_map<int64_t, int64_t> item_of;
          for (const auto& row : tx.exec_params(sql, IdArray(ids))) item_of.emplace(row[0].as<int64_t>(), row[1].as<int64_t>());
          for (const auto& m : matches) {
            const auto it = item_of.find(m.id);
            if (it != item_of.end()) chunks.push_back({it->second, m.id, m.similarity});
          }
        }
      }
      c.vector = BestPerItem(chunks);
      if (static_cast<int>(c.vector.size()) > depth) c.vector.resize(static_cast<size_t>(depth));
      c.timings["vector_ms"] = Ms(t);
    }

    // Fusion, then details for the best few, then re-ranking.
    auto t = Clock::now();
    std::vector<FusedItem> fused = FuseRanks(c.text, c.vector, plan.fulltext_weight, plan.vector_weight, plan.rrf_k);
    const size_t keep = std::min(fused.size(), static_cast<size_t>(std::max(plan.limit * 4, 40)));
    fused.resize(keep);
    std::vector<int64_t> item_ids, chunk_ids;
    for (const auto& f : fused) {
      item_ids.push_back(f.item_id);
      chunk_ids.push_back(f.chunk_id);
    }
    const std::string sql = std::string(
        "SELECT i.id, i.type, i.title, i.source, to_char(i.created_at AT TIME ZONE 'UTC', ") + kIsoUtc +
        "), to_char(i.updated_at AT TIME ZONE 'UTC', " + kIsoUtc + "), i.metadata::text,"
        " extract(epoch FROM now() - i.updated_at) / 86400.0, COALESCE(c.content, left(i.content, 2000))"
        " FROM unnest($1::bigint[], $2::bigint[]) AS t(item_id, chunk_id)"
        " JOIN memory_item i ON i.id = t.item_id LEFT JOIN memory_chunk c ON c.id = t.chunk_id";
    std::unordered_map<int64_t, SearchHit> details;
    std::unordered_map<int64_t, double> ages;
    for (const auto& row : tx.exec_params(sql, IdArray(item_ids), IdArray(chunk_ids))) {
      SearchHit h;
      h.item_id = row[0].as<int64_t>();
      h.type = row[1].as<std::string>();
      h.title = row[2].as<std::string>();
      h.source = row[3].as<std::string>();
      h.created_at = row[4].as<std::string>();
      h.updated_at = row[5].as<std::string>();
      h.metadata = json::parse(row[6].as<std::string>(), nullptr, false);
      ages[h.item_id] = row[7].as<double>();
      h.excerpt = Excerpt(row[8].as<std::string>(), words);
      details.emplace(h.item_id, std::move(h));
    }
    for (const auto& f : fused) {
      auto it = details.find(f.item_id);
      if (it == details.end()) continue;
      SearchHit h = std::move(it->second);
      h.chunk_id = f.chunk_id;
      h.text_rank = f.text_rank;
      h.vector_rank = f.vector_rank;
      if (plan.order_by_time) {
        h.score = 1.0 / static_cast<double>(c.hits.size() + 1);
      } else {
        const double authority =
            backend.source_authority ? SourceAuthority(h.source, *backend.source_authority) : 1.0;
        h.score = f.rrf * authority * RecencyBoost(ages[f.item_id], plan.recency_half_life_days, plan.recency_weight);
      }
      c.hits.push_back(std::move(h));
    }
    if (!plan.order_by_time) {
      std::stable_sort(c.hits.begin(), c.hits.end(), [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
    }
    if (static_cast<int>(c.hits.size()) > plan.limit) c.hits.resize(static_cast<size_t>(plan.limit));
    if (explain) c.sql.push_back({{"step", "details"}, {"sql", sql}});
    c.timings["fuse_and_details_ms"] = Ms(t);

    // Audit: the search, and each item it returned.
    std::vector<int64_t> returned;
    for (const auto& h : c.hits) returned.push_back(h.item_id);
    tx.exec_params(
        "INSERT INTO memory_access_log (item_id, action, query, run_id)"
        " SELECT NULL, 'search', $1, NULLIF($2, '')::uuid"
        " UNION ALL SELECT unnest($3::bigint[]), 'read', $1, NULLIF($2, '')::uuid",
        plan.text_query.empty() ? filters.dump() : plan.text_query,
        IsUuid(ctx.run_id) ? ctx.run_id : std::string(), IdArray(returned));
    return c;
  });
  if (!collected.ok()) return collected.error();

  SearchResponse response;
  response.hits = std::move(collected->hits);
  response.plan = plan.ToJson();
  response.plan["counts"] = {{"fulltext", collected->text.size()}, {"vector", collected->vector.size()},
                             {"returned", response.hits.size()}};
  if (!collected->notes.empty()) response.plan["notes"] = std::move(collected->notes);
  response.plan["timings_ms"] = std::move(collected->timings);
  response.plan["timings_ms"]["total_ms"] = Ms(started);
  if (explain) response.plan["sql"] = std::move(collected->sql);
  return response;
}

}  // namespace steward::memory
