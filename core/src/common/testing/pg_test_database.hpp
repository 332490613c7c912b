#pragma once
// A throwaway database for *_pgtest.cpp: each PgTestDatabase creates a uniquely named
// database on the server named by $STEWARD_TEST_PG (default
// postgresql://postgres@127.0.0.1:5432/postgres) and drops it again on destruction.

#include <string>

namespace steward::testing {

class PgTestDatabase final {
 public:
  // Creates the database. Throws std::runtime_error (failing the test) when the server
  // cannot be reached, saying which URL was tried and how to point at another.
  PgTestDatabase();
  // Drops the database, terminating connections still open to it.
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  // libpq URL of the new database.
  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  // libpq URL of the maintenance database the test database was created from.
  [[nodiscard]] const std::string& admin_url() const { return admin_url_; }

  // $STEWARD_TEST_PG or the default.
  [[nodiscard]] static std::string ServerUrl();
  // `url` with its database name replaced by `database` (URI or key=value form).
  [[nodiscard]] static std::string WithDatabase(const std::string& url, const std::string& database);

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

}  // namespace steward::testing
