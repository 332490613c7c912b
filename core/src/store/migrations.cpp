#include "store/migrations.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <string>

namespace steward::store {

namespace {

// Arbitrary but fixed: every steward process must use the same key ("STEWARD\0").
constexpr long long kMigrationLockKey = 0x5354455741524400LL;

constexpr std::string_view kCreateTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migration (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  checksum    text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
))sql";

struct Applied {
  std::string name;
  std::string checksum;
};

std::string Label(int version, std::string_view name) {
  std::string digits = std::to_string(version);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return digits + "_" + std::string(name);
}

// Serialises migrators across processes until the transaction ends, then makes sure the
// bookkeeping table exists (CREATE TABLE IF NOT EXISTS itself races without the lock).
void LockAndCreate(pqxx::work& tx) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
  tx.exec(std::string(kCreateTable));
}

std::map<int, Applied> LoadApplied(pqxx::transaction_base& tx) {
  std::map<int, Applied> applied;
  for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migration ORDER BY version")) {
    applied[row[0].as<int>()] = Applied{row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return applied;
}

// Refuses a database that this binary's migrations do not describe.
Status Verify(const std::map<int, Applied>& applied, std::span<const Migration> migrations) {
  const int newest_known = migrations.empty() ? 0 : migrations.back().version;
  for (const auto& [version, record] : applied) {
    const Migration* known = nullptr;
    for (const Migration& m : migrations) {
      if (m.version == version) known = &m;
    }
    if (known == nullptr && version > newest_known) {
      return MakeError(ErrorCode::kConflict,
                       "the database schema is at migration " + Label(version, record.name) +
                           " but this steward binary only knows migrations up to " +
                           std::to_string(newest_known) + "; run a steward at least as new as the one "
                           "that last used this database",
                       "schema_migration");
    }
    if (known == nullptr) {
      return MakeError(ErrorCode::kConflict,
                       "the database has migration " + Label(version, record.name) +
                           " applied, which this steward binary does not contain; it was built from "
                           "a different migrations/ folder",
                       "schema_migration");
    }
    if (known->checksum != record.checksum) {
      return MakeError(ErrorCode::kConflict,
                       "migration " + Label(version, known->name) +
                           " was changed after it was applied to this database (checksum " +
                           record.checksum.substr(0, 12) + "… in the database, " +
                           std::string(known->checksum.substr(0, 12)) +
                           "… in this binary); restore the original file and add a new migration "
                           "for the change",
                       "schema_migration");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ApplyMigrations(Database& db) { return ApplyMigrations(db, EmbeddedMigrations()); }

Status ApplyMigrations(Database& db, std::span<const Migration> migrations) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i - 1].version >= migrations[i].version) {
      return MakeError(ErrorCode::kInternal, "migrations are not sorted by unique version",
                       Label(migrations[i].version, migrations[i].name));
    }
  }
  Result<std::map<int, Applied>> applied = db.Transact([&](pqxx::work& tx) -> Result<std::map<int, Applied>> {
    LockAndCreate(tx);
    auto rows = LoadApplied(tx);
    STEWARD_RETURN_IF_ERROR(Verify(rows, migrations));
    return rows;
  });
  if (!applied.ok()) return applied.error();

  for (const Migration& m : migrations) {
    if (applied->count(m.version) != 0) continue;
    const auto start = std::chrono::steady_clock::now();
    bool ran = false;
    Status status = db.Transact([&](pqxx::work& tx) -> Status {
      ran = false;
      LockAndCreate(tx);
      // Another process may have applied it while we waited for the lock.
      auto rows = LoadApplied(tx);
      STEWARD_RETURN_IF_ERROR(Verify(rows, migrations));
      if (rows.count(m.version) != 0) return Status::Ok();
      tx.exec(std::string(m.sql));
      tx.exec_params("INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)",
                     m.version, std::string(m.name), std::string(m.checksum));
      ran = true;
      return Status::Ok();
    });
    if (!status.ok()) {
      Error error = status.error();
      if (error.context == "schema_migration") return error;  // from Verify: names its migration
      const std::string where = "migration " + Label(m.version, m.name);
      error.context = error.context.empty() ? where : where + ": " + error.context;
      return error;
    }
    if (ran) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      spdlog::info("applied migration {} in {} ms", Label(m.version, m.name), ms.count());
    }
  }
  return Status::Ok();
}

Result<int> SchemaVersion(Database& db) {
  return db.Read([](pqxx::read_transaction& tx) -> int {
    if (tx.exec1("SELECT to_regclass('schema_migration') IS NULL")[0].as<bool>()) return 0;
    return tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migration")[0].as<int>();
  });
}

}  // namespace steward::store
