#include "common/testing/pg_test_database.hpp"

#include <unistd.h>

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <stdexcept>

namespace steward::testing {

namespace {
constexpr const char* kDefaultUrl = "postgresql://postgres@127.0.0.1:5432/postgres";
}  // namespace

std::string PgTestDatabase::ServerUrl() {
  const char* env = std::getenv("STEWARD_TEST_PG");
  return (env != nullptr && *env != '\0') ? env : kDefaultUrl;
}

std::string PgTestDatabase::WithDatabase(const std::string& url, const std::string& database) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url + " dbname=" + database;  // later keys win
  const size_t path = url.find_first_of("/?#", scheme + 3);
  if (path == std::string::npos) return url + "/" + database;
  if (url[path] != '/') return url.substr(0, path) + "/" + database + url.substr(path);
  const size_t path_end = url.find_first_of("?#", path);
  return url.substr(0, path + 1) + database + (path_end == std::string::npos ? "" : url.substr(path_end));
}

PgTestDatabase::PgTestDatabase() : admin_url_(ServerUrl()) {
  static std::atomic<int> counter{0};
  std::random_device random;
  name_ = "steward_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(random() % 1000000);
  url_ = WithDatabase(admin_url_, name_);
  try {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot create a test database on " + admin_url_ + " (set STEWARD_TEST_PG to a "
                             "PostgreSQL URL whose user may CREATE DATABASE): " + e.what());
  }
}

PgTestDatabase::~PgTestDatabase() {
  try {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "warning: could not drop test database " << name_ << ": " << e.what() << "\n";
  }
}

}  // namespace steward::testing
