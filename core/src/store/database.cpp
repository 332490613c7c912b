#include "store/database.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "store/redact_url.hpp"

namespace steward::store {

namespace {

constexpr int kMaxSerializationRetries = 3;

// libpq messages look like "ERROR:  text\nDETAIL:  more\n"; make them one line.
std::string OneLine(std::string_view message) {
  std::string out;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t end = message.find('\n', pos);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(pos, end - pos);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    for (std::string_view prefix : {"ERROR:  ", "FATAL:  "}) {
      if (line.substr(0, prefix.size()) == prefix) line.remove_prefix(prefix.size());
    }
    if (!line.empty()) {
      if (!out.empty()) out += "; ";
      out += line;
    }
    pos = end + 1;
  }
  return out;
}

// The quoted name after `marker` in a PostgreSQL message, e.g. constraint "chat_session_pkey".
std::string QuotedAfter(std::string_view message, std::string_view marker) {
  const size_t at = message.find(marker);
  if (at == std::string_view::npos) return {};
  const size_t start = at + marker.size();
  const size_t end = message.find('"', start);
  if (end == std::string_view::npos) return {};
  return std::string(message.substr(start, end - start));
}

Error ConstraintError(ErrorCode code, const pqxx::sql_error& e) {
  const std::string_view what = e.what();
  std::string name = QuotedAfter(what, "constraint \"");
  // Not-null violations name the column, not a constraint.
  if (name.empty()) name = QuotedAfter(what, "column \"");
  return MakeError(code, OneLine(what), name);
}

// sql_errors not covered by a more specific pqxx exception type, by SQLSTATE class.
Error MapSqlError(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  const std::string message = OneLine(e.what());
  if (state.rfind("22", 0) == 0) return MakeError(ErrorCode::kInvalidArgument, message);
  if (state == "57014") return MakeError(ErrorCode::kDeadlineExceeded, message);
  if (state.rfind("53", 0) == 0 || state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0) {
    return MakeError(ErrorCode::kUnavailable, message);
  }
  return MakeError(ErrorCode::kInternal, state.empty() ? message : message + " (SQLSTATE " + state + ")");
}

}  // namespace

class Database::Lease final {
 public:
  Lease(Database& db, size_t index) : db_(db), index_(index) {}
  ~Lease() { db_.Return(index_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  size_t index() const { return index_; }

 private:
  Database& db_;
  size_t index_;
};

Database::Database(std::string url, size_t pool_size, std::chrono::milliseconds checkout_timeout)
    : url_(std::move(url)),
      redacted_url_(RedactUrl(url_)),
      checkout_timeout_(checkout_timeout),
      slots_(pool_size) {}

Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Connect(std::string url, int pool_size,
                                                    std::chrono::milliseconds checkout_timeout) {
  if (pool_size < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "database pool size must be at least 1, got " + std::to_string(pool_size));
  }
  std::unique_ptr<Database> db(new Database(std::move(url), static_cast<size_t>(pool_size), checkout_timeout));
  for (size_t i = 0; i < db->slots_.size(); ++i) {
    STEWARD_RETURN_IF_ERROR(db->Reconnect(i));
    db->idle_.push_back(i);
  }
  return db;
}

Status Database::Reconnect(size_t index) {
  Slot& slot = slots_[index];
  slot.conn.reset();
  slot.prepared = 0;
  try {
    slot.conn = std::make_unique<pqxx::connection>(url_);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot connect to PostgreSQL: " + OneLine(RedactPasswordIn(e.what(), url_)),
                     redacted_url_);
  }
  return Status::Ok();
}

Result<size_t> Database::Checkout() {
  std::unique_lock lock(mu_);
  if (!idle_cv_.wait_for(lock, checkout_timeout_, [this] { return !idle_.empty(); })) {
    return MakeError(ErrorCode::kUnavailable,
                     "all " + std::to_string(slots_.size()) + " database connections stayed busy for " +
                         std::to_string(checkout_timeout_.count()) + " ms",
                     redacted_url_);
  }
  const size_t index = idle_.back();
  idle_.pop_back();
  return index;
}

void Database::Return(size_t index) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(index);
  }
  idle_cv_.notify_one();
}

Status Database::EnsureReady(size_t index) {
  Slot& slot = slots_[index];
  if (!slot.conn || !slot.conn->is_open()) STEWARD_RETURN_IF_ERROR(Reconnect(index));
  std::vector<Statement> pending;
  {
    std::lock_guard lock(mu_);
    pending.assign(statements_.begin() + static_cast<std::ptrdiff_t>(slot.prepared), statements_.end());
  }
  try {
    // pqxx registers statements with the server lazily, on first use, so this is local.
    for (const Statement& s : pending) slot.conn->prepare(s.name, s.sql);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("cannot register prepared statement: ") + e.what());
  }
  slot.prepared += pending.size();
  return Status::Ok();
}

void Database::ThrowIfClosed(pqxx::connection& c) {
  // get_notifs() reads what arrived without blocking (PQconsumeInput) and throws once it finds
  // the connection closed. A terminated backend sends a FATAL message before closing, and a read
  // that returns the message may stop short of the end of the stream: the second one finds it.
  c.get_notifs();
  c.get_notifs();
}

Status Database::Run(const Body& body, bool autocommit) {
  size_t dead_before_begin = 0;
  for (int attempt = 0;; ++attempt) {
    Result<size_t> index = Checkout();
    if (!index.ok()) return index.error();
    Lease lease(*this, *index);
    STEWARD_RETURN_IF_ERROR(EnsureReady(lease.index()));
    pqxx::connection& conn = *slots_[lease.index()].conn;
    bool began = false;
    try {
      return body(conn, began);
    } catch (const pqxx::broken_connection& e) {
      spdlog::warn("lost a PostgreSQL connection to {}: {}; reconnecting", redacted_url_,
                   OneLine(RedactPasswordIn(e.what(), url_)));
      Status reconnected = Reconnect(lease.index());
      if (!reconnected.ok()) spdlog::warn("{}", reconnected.error().ToString());
      // Dead before BEGIN went through: nothing ran, so starting over is safe. After a server
      // restart every slot is dead, hence up to one retry per slot.
      if (!began && reconnected.ok() && ++dead_before_begin <= slots_.size()) {
        --attempt;
        continue;
      }
      if (autocommit) {
        return MakeError(ErrorCode::kUnavailable,
                         "lost the connection to PostgreSQL during a statement; it may or may not have taken "
                         "effect: " + OneLine(e.what()),
                         redacted_url_);
      }
      return MakeError(ErrorCode::kUnavailable,
                       "lost the connection to PostgreSQL during a transaction (it was rolled back): " +
                           OneLine(e.what()),
                       redacted_url_);
    } catch (const pqxx::in_doubt_error& e) {
      if (Status s = Reconnect(lease.index()); !s.ok()) spdlog::warn("{}", s.error().ToString());
      return MakeError(ErrorCode::kUnavailable,
                       "lost the connection to PostgreSQL while committing; the transaction may or may "
                       "not have been committed: " + OneLine(e.what()),
                       redacted_url_);
    } catch (const pqxx::statement_completion_unknown& e) {
      // Not a request to retry: the statement may have taken effect.
      return MakeError(ErrorCode::kUnavailable,
                       "PostgreSQL cannot tell whether the last statement took effect: " + OneLine(e.what()),
                       redacted_url_);
    } catch (const pqxx::transaction_rollback& e) {
      // Serialization failures and deadlocks: PostgreSQL asks the client to try again.
      if (attempt < kMaxSerializationRetries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5 * (attempt + 1)));
        continue;
      }
      return MakeError(ErrorCode::kConflict,
                       "transaction kept conflicting with concurrent ones after " +
                           std::to_string(attempt + 1) + " attempts: " + OneLine(e.what()));
    } catch (const pqxx::unique_violation& e) {
      return ConstraintError(ErrorCode::kConflict, e);
    } catch (const pqxx::integrity_constraint_violation& e) {
      return ConstraintError(ErrorCode::kInvalidArgument, e);
    } catch (const pqxx::sql_error& e) {
      return MapSqlError(e);
    } catch (const std::exception& e) {
      return MakeError(ErrorCode::kInternal, OneLine(e.what()));
    }
  }
}

Status Database::Prepare(std::string name, std::string sql) {
  {
    std::lock_guard lock(mu_);
    for (const Statement& s : statements_) {
      if (s.name != name) continue;
      if (s.sql == sql) return Status::Ok();
      return MakeError(ErrorCode::kInvalidArgument,
                       "prepared statement name is already used for different SQL", name);
    }
  }
  Result<size_t> index = Checkout();
  if (!index.ok()) return index.error();
  Lease lease(*this, *index);
  STEWARD_RETURN_IF_ERROR(EnsureReady(lease.index()));
  pqxx::connection& conn = *slots_[lease.index()].conn;
  try {
    conn.prepare(name, sql);
    conn.prepare_now(name);
  } catch (const std::exception& e) {
    try {
      conn.unprepare(name);
    } catch (const std::exception&) {
      // The connection is broken; the next checkout replaces it.
    }
    const auto* broken = dynamic_cast<const pqxx::broken_connection*>(&e);
    return MakeError(broken ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument,
                     "PostgreSQL rejected the prepared statement: " + OneLine(e.what()), name);
  }
  bool clash = false;
  {
    std::lock_guard lock(mu_);
    bool present = false;
    for (const Statement& s : statements_) {
      if (s.name != name) continue;
      present = true;
      clash = s.sql != sql;
    }
    if (!present) statements_.push_back(Statement{name, std::move(sql)});
  }
  if (clash) {
    // Another thread registered the name for other SQL meanwhile; this connection must not
    // keep our definition, or registering theirs on it would fail.
    try {
      conn.unprepare(name);
    } catch (const std::exception&) {
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "prepared statement name is already used for different SQL", name);
  }
  return Status::Ok();
}

}  // namespace steward::store
