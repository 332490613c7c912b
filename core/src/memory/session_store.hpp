#pragma once
// Chat sessions and their messages in PostgreSQL (tables chat_session, chat_message).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/database.hpp"

namespace pqxx {
class transaction_base;
}

namespace steward::memory {

struct SessionInfo {
  std::string id;
  std::string title;
  std::string agent;
  std::string created_at;  // ISO 8601 UTC
  std::string updated_at;
  int64_t message_count = 0;
};

struct ChatMessage {
  int64_t id = 0;
  std::string session_id;
  std::string role;  // user | assistant | system | tool
  std::string content;
  nlohmann::json metadata = nlohmann::json::object();
  std::string created_at;
};

// Thread-safe (the Database is).
class SessionStore final {
 public:
  explicit SessionStore(store::Database& db) : db_(db) {}

  // Within the caller's transaction, so a session, its first message and its run commit together.
  static SessionInfo CreateSession(pqxx::transaction_base& tx, const std::string& id, const std::string& agent,
                                   const std::string& title);
  static int64_t AppendMessage(pqxx::transaction_base& tx, const std::string& session_id, const std::string& role,
                               const std::string& content, const nlohmann::json& metadata);

  [[nodiscard]] Result<SessionInfo> GetSession(const std::string& id);
  [[nodiscard]] Result<std::vector<SessionInfo>> ListSessions(int limit, int offset);
  // Oldest first; at most `limit` of the newest messages.
  [[nodiscard]] Result<std::vector<ChatMessage>> Messages(const std::string& session_id, int limit);

 private:
  store::Database& db_;
};

[[nodiscard]] nlohmann::json ToJson(const SessionInfo& s);
[[nodiscard]] nlohmann::json ToJson(const ChatMessage& m);

// True if `s` looks like a UUID (so it can be bound to a uuid column without a database error).
[[nodiscard]] bool IsUuid(std::string_view s);

}  // namespace steward::memory
