#pragma once
// Schema migrations: the migrations/NNNN_name.sql files, compiled into the binary by
// core/cmake/embed_migrations.cmake, applied in version order and recorded in
// schema_migration(version, name, checksum, applied_at).

#include <span>
#include <string_view>

#include "common/result.hpp"
#include "store/database.hpp"

namespace steward::store {

// One migration file. Each runs in its own transaction together with its schema_migration
// row, so it must not contain transaction control or CREATE INDEX CONCURRENTLY.
struct Migration {
  int version = 0;             // NNNN from the file name
  std::string_view name;       // the part after NNNN_, without .sql
  std::string_view sql;        // the file's bytes
  std::string_view checksum;   // SHA-256 of the file, lowercase hex
};

// The migrations built into this binary, sorted by version. Static storage; thread-safe.
[[nodiscard]] std::span<const Migration> EmbeddedMigrations();

// Brings the database up to EmbeddedMigrations(). Safe to call from several processes or
// threads at once: a transaction-scoped advisory lock serialises them and each migration is
// applied exactly once. Errors: kConflict when the database was migrated by a different
// build (an applied migration's checksum differs from this binary's, or the database has a
// migration this binary does not know, e.g. it is newer); the error of the failing
// statement (context names the migration) when a migration fails; errors of Database.
[[nodiscard]] Status ApplyMigrations(Database& db);

// As above with an explicit list (sorted by version, versions unique); for tests.
[[nodiscard]] Status ApplyMigrations(Database& db, std::span<const Migration> migrations);

// The highest applied migration version, 0 for a database with none. Does not create
// schema_migration. Thread-safe.
[[nodiscard]] Result<int> SchemaVersion(Database& db);

}  // namespace steward::store
