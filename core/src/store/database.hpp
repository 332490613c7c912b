#pragma once
// A fixed-size pool of libpqxx connections and the one place where libpqxx exceptions become
// steward::Errors. Every component reaches PostgreSQL through Database::Transact / Read.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/result.hpp"

namespace steward::store {

namespace detail {
template <class T>
struct IsResult : std::false_type {};
template <class T>
struct IsResult<Result<T>> : std::true_type {};

// What Transact/Read return for a callback returning R: void and Status give Status,
// Result<T> stays Result<T>, any other T becomes Result<T>.
template <class R>
struct TxResult {
  using type = Result<R>;
};
template <>
struct TxResult<void> {
  using type = Status;
};
template <>
struct TxResult<Status> {
  using type = Status;
};
template <class T>
struct TxResult<Result<T>> {
  using type = Result<T>;
};
template <class F, class Tx>
using TxResultT = typename TxResult<std::invoke_result_t<F&, Tx&>>::type;
}  // namespace detail

class Database final {
 public:
  // Opens `pool_size` connections to `url` (a libpq URI or key=value string) up front, so a
  // wrong URL fails here. `checkout_timeout` bounds how long Transact/Read wait for a free
  // connection. Errors: kInvalidArgument (pool_size < 1), kUnavailable (cannot connect).
  [[nodiscard]] static Result<std::unique_ptr<Database>> Connect(
      std::string url, int pool_size,
      std::chrono::milliseconds checkout_timeout = std::chrono::seconds(10));

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs fn(pqxx::work&) in a read-committed transaction on a pooled connection and commits.
  // fn may return void, a value T, Status or Result<T>; an error Status/Result from fn rolls
  // back and is returned unchanged. fn is re-run (up to 3 more times) after a serialization
  // failure or deadlock, so it must not have effects outside the transaction it cannot repeat.
  // A connection that died while idle (server restart, killed backend) is replaced and the
  // transaction started again on the new one, invisibly.
  // Errors: kUnavailable (connection lost mid-transaction or pool exhausted past the
  // timeout; the slot is reconnected), kConflict (unique violation; context = constraint
  // name; or still serialization failures after the retries), kInvalidArgument (foreign
  // key / check / not-null violation, context = constraint or column; invalid data),
  // kDeadlineExceeded (statement timeout), kInternal (anything else, with the message).
  // Thread-safe. Do not call Transact from inside fn: it takes a second connection and can
  // exhaust the pool.
  template <class F>
  [[nodiscard]] auto Transact(F&& fn) -> detail::TxResultT<F, pqxx::work> {
    return RunTyped<pqxx::work>(fn);
  }

  // As Transact, with a pqxx::read_transaction (READ ONLY: writes fail with kInternal).
  template <class F>
  [[nodiscard]] auto Read(F&& fn) -> detail::TxResultT<F, pqxx::read_transaction> {
    return RunTyped<pqxx::read_transaction>(fn);
  }

  // As Transact, without BEGIN and COMMIT (a pqxx::nontransaction): each statement fn runs is
  // its own transaction, committed when it completes, so a one-statement fn costs one round
  // trip instead of three. For fns of ONE statement (a CTE can change several rows atomically):
  // an error returned after a statement does not undo it. A connection lost mid-statement is
  // kUnavailable saying the statement may or may not have taken effect.
  template <class F>
  [[nodiscard]] auto Autocommit(F&& fn) -> detail::TxResultT<F, pqxx::nontransaction> {
    return RunTyped<pqxx::nontransaction>(fn);
  }

  // Registers a prepared statement on every pooled connection, now and after any reconnect;
  // use it with tx.exec_prepared(name, args...). The SQL is checked against the server
  // before this returns. Registering the same name with the same SQL again is a no-op.
  // Errors: kInvalidArgument (name already used for other SQL, or the server rejects the
  // SQL), kUnavailable. Thread-safe.
  [[nodiscard]] Status Prepare(std::string name, std::string sql);

  // The connection URL with its password masked; safe to log.
  [[nodiscard]] const std::string& redacted_url() const { return redacted_url_; }
  [[nodiscard]] int pool_size() const { return static_cast<int>(slots_.size()); }

 private:
  struct Statement {
    std::string name;
    std::string sql;
  };
  struct Slot {
    std::unique_ptr<pqxx::connection> conn;
    size_t prepared = 0;  // how many of statements_ were registered on conn
  };
  class Lease;
  // Sets `began` once the transaction is open, i.e. before fn can have done anything.
  using Body = std::function<Status(pqxx::connection&, bool& began)>;

  Database(std::string url, size_t pool_size, std::chrono::milliseconds checkout_timeout);

  // Checks a connection out, runs body on it, maps exceptions and retries serialization
  // failures, and connections found dead before the transaction began. An error returned by body itself is passed through untouched.
  // Without a BEGIN to find a connection that died while idle, this looks: reads what the server
  // sent meanwhile (no round trip) and throws pqxx::broken_connection if it closed the connection.
  static void ThrowIfClosed(pqxx::connection& c);
  // `autocommit`: body's statements commit one by one (no transaction block to roll back).
  [[nodiscard]] Status Run(const Body& body, bool autocommit = false);
  [[nodiscard]] Result<size_t> Checkout();
  void Return(size_t index);
  // Makes slot `index` (checked out by the caller) hold an open connection with every
  // registered statement.
  [[nodiscard]] Status EnsureReady(size_t index);
  [[nodiscard]] Status Reconnect(size_t index);

  template <class Tx, class F>
  auto RunTyped(F& fn) -> detail::TxResultT<F, Tx> {
    using R = std::invoke_result_t<F&, Tx&>;
    constexpr bool autocommit = std::is_same_v<Tx, pqxx::nontransaction>;
    if constexpr (std::is_void_v<R>) {
      return Run([&](pqxx::connection& c, bool& began) -> Status {
        if constexpr (autocommit) ThrowIfClosed(c);
        Tx tx(c);
        began = true;
        fn(tx);
        tx.commit();
        return Status::Ok();
      }, autocommit);
    } else if constexpr (std::is_same_v<R, Status>) {
      return Run([&](pqxx::connection& c, bool& began) -> Status {
        if constexpr (autocommit) ThrowIfClosed(c);
        Tx tx(c);
        began = true;
        Status status = fn(tx);
        if (status.ok()) tx.commit();
        return status;
      }, autocommit);
    } else {
      // Result<T> from fn, or a plain T wrapped into Result<T>.
      using Out = detail::TxResultT<F, Tx>;
      std::optional<Out> out;
      Status status = Run([&](pqxx::connection& c, bool& began) -> Status {
        if constexpr (autocommit) ThrowIfClosed(c);
        Tx tx(c);
        began = true;
        Out value = fn(tx);
        if (!value.ok()) return value.error();
        tx.commit();
        out.emplace(std::move(value));
        return Status::Ok();
      }, autocommit);
      if (!status.ok()) return Out(status.error());
      return std::move(*out);
    }
  }

  const std::string url_;
  const std::string redacted_url_;
  const std::chrono::milliseconds checkout_timeout_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::vector<size_t> idle_;              // guarded by mu_
  std::vector<Statement> statements_;     // guarded by mu_; append-only
  std::vector<Slot> slots_;  // fixed size; a slot is touched only by whoever checked it out
};

}  // namespace steward::store
