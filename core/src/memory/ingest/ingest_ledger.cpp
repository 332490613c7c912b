#include "memory/ingest/ingest_ledger.hpp"

#include <pqxx/pqxx>

namespace steward::memory::ingest {

namespace {

constexpr const char* kColumns =
    "path, content_hash, item_id, size, coalesce(extract(epoch FROM mtime)::bigint, 0), status, "
    "coalesce(error, ''), deleted_at IS NOT NULL";

LedgerRow FromRow(const pqxx::row& r) {
  LedgerRow row;
  row.path = r[0].as<std::string>();
  row.content_hash = r[1].as<std::string>();
  if (!r[2].is_null()) row.item_id = r[2].as<int64_t>();
  row.size = r[3].as<int64_t>();
  row.mtime_s = r[4].as<int64_t>();
  row.status = r[5].as<std::string>();
  row.error = r[6].as<std::string>();
  row.deleted = r[7].as<bool>();
  return row;
}

// `s` with LIKE's wildcards escaped (backslash is the default escape character).
std::string EscapeLike(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Result<std::optional<LedgerRow>> IngestLedger::Get(const std::string& path) {
  return db_.Read([&](pqxx::read_transaction& tx) -> std::optional<LedgerRow> {
    const pqxx::result r =
        tx.exec_params(std::string("SELECT ") + kColumns + " FROM ingested_file WHERE path = $1", path);
    if (r.empty()) return std::nullopt;
    return FromRow(r[0]);
  });
}

Result<std::map<std::string, LedgerRow>> IngestLedger::LiveUnder(const std::string& dir, bool recursive) {
  std::string prefix = dir;
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  return db_.Read([&](pqxx::read_transaction& tx) {
    std::map<std::string, LedgerRow> rows;
    const pqxx::result r = tx.exec_params(
        std::string("SELECT ") + kColumns +
            " FROM ingested_file WHERE path LIKE $1 AND deleted_at IS NULL"
            " AND ($2 OR strpos(substr(path, $3), '/') = 0)",
        EscapeLike(prefix) + "%", recursive, static_cast<int>(prefix.size()) + 1);
    for (const auto& row : r) {
      LedgerRow parsed = FromRow(row);
      rows.emplace(parsed.path, std::move(parsed));
    }
    return rows;
  });
}

Status IngestLedger::Record(const LedgerRow& row) {
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO ingested_file (path, content_hash, item_id, size, mtime, status, error, ingested_at, deleted_at)"
        " VALUES ($1, $2, $3, $4, CASE WHEN $5::bigint = 0 THEN NULL ELSE to_timestamp($5::bigint) END, $6, nullif($7, ''), now(),"
        "         CASE WHEN $6 = 'deleted' THEN now() END)"
        " ON CONFLICT (path) DO UPDATE SET content_hash = EXCLUDED.content_hash, item_id = EXCLUDED.item_id,"
        "   size = EXCLUDED.size, mtime = EXCLUDED.mtime, status = EXCLUDED.status, error = EXCLUDED.error,"
        "   ingested_at = now(),"
        "   deleted_at = CASE WHEN EXCLUDED.status = 'deleted'"
        "                     THEN coalesce(ingested_file.deleted_at, now()) END",
        row.path, row.content_hash, row.item_id, row.size, row.mtime_s, row.status, row.error);
  });
}

}  // namespace steward::memory::ingest
