#include "memory/session_store.hpp"

#include <pqxx/pqxx>

namespace steward::memory {

namespace {
constexpr const char* kSessionColumns =
    "s.id::text, s.title, s.agent, "
    "to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "to_char(s.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "(SELECT count(*) FROM chat_message m WHERE m.session_id = s.id)";

SessionInfo SessionFromRow(const pqxx::row& r) {
  return SessionInfo{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<int64_t>()};
}
}  // namespace

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

SessionInfo SessionStore::CreateSession(pqxx::transaction_base& tx, const std::string& id, const std::string& agent,
                                        const std::string& title) {
  tx.exec_params("INSERT INTO chat_session (id, agent, title) VALUES ($1::uuid, $2, $3)", id, agent, title);
  const pqxx::row r = tx.exec_params1(std::string("SELECT ") + kSessionColumns +
                                          " FROM chat_session s WHERE s.id = $1::uuid",
                                      id);
  return SessionFromRow(r);
}

int64_t SessionStore::AppendMessage(pqxx::transaction_base& tx, const std::string& session_id,
                                    const std::string& role, const std::string& content,
                                    const nlohmann::json& metadata) {
  const pqxx::row r = tx.exec_params1(
      "INSERT INTO chat_message (session_id, role, content, metadata) VALUES ($1::uuid, $2, $3, $4::jsonb) "
      "RETURNING id",
      session_id, role, content, metadata.dump());
  tx.exec_params("UPDATE chat_session SET updated_at = now() WHERE id = $1::uuid", session_id);
  return r[0].as<int64_t>();
}

Result<SessionInfo> SessionStore::GetSession(const std::string& id) {
  if (!IsUuid(id)) {
    return MakeError(ErrorCode::kInvalidArgument, "expected a session id (UUID), got \"" + id + "\"", "session_id");
  }
  auto found = db_.Read([&](pqxx::read_transaction& tx) -> std::optional<SessionInfo> {
    const pqxx::result r =
        tx.exec_params(std::string("SELECT ") + kSessionColumns + " FROM chat_session s WHERE s.id = $1::uuid", id);
    if (r.empty()) return std::nullopt;
    return SessionFromRow(r[0]);
  });
  if (!found.ok()) return found.error();
  if (!found->has_value()) return MakeError(ErrorCode::kNotFound, "no session with id " + id, "session_id");
  return **found;
}

Result<std::vector<SessionInfo>> SessionStore::ListSessions(int limit, int offset) {
  return db_.Read([&](pqxx::read_transaction& tx) {
    std::vector<SessionInfo> out;
    for (const auto& row : tx.exec_params(std::string("SELECT ") + kSessionColumns +
                                              " FROM chat_session s ORDER BY s.updated_at DESC LIMIT $1 OFFSET $2",
                                          limit, offset)) {
      out.push_back(SessionFromRow(row));
    }
    return out;
  });
}

Result<std::vector<ChatMessage>> SessionStore::Messages(const std::string& session_id, int limit) {
  return db_.Read([&](pqxx::read_transaction& tx) {
    std::vector<ChatMessage> out;
    const pqxx::result rows = tx.exec_params(
        "SELECT id, session_id::text, role, content, metadata::text, "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
        "FROM (SELECT * FROM chat_message WHERE session_id = $1::uuid ORDER BY id DESC LIMIT $2) m ORDER BY id",
        session_id, limit);
    for (const auto& r : rows) {
      out.push_back(ChatMessage{r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                                r[3].as<std::string>(), nlohmann::json::parse(r[4].as<std::string>()),
                                r[5].as<std::string>()});
    }
    return out;
  });
}

nlohmann::json ToJson(const SessionInfo& s) {
  return {{"id", s.id},           {"title", s.title},           {"agent", s.agent},
          {"created_at", s.created_at}, {"updated_at", s.updated_at}, {"message_count", s.message_count}};
}

nlohmann::json ToJson(const ChatMessage& m) {
  return {{"id", m.id},           {"session_id", m.session_id}, {"role", m.role},
          {"content", m.content}, {"metadata", m.metadata},     {"created_at", m.created_at}};
}

}  // namespace steward::memory
