#pragma once
// The built-in "memory" tool server: lets an agent recall earlier conversations, save notes and
// search saved memory. Every access is written to memory_access_log in the same transaction.

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/database.hpp"
#include "tools/tool.hpp"

namespace steward::memory {

// Tools (namespaced under "memory"):
//   recall_conversation {query, since?, until?, limit?} -> {matches: [{session_id, session_title,
//       created_at, role, excerpt}]}: earlier chat messages (never ctx.session_id's) by topic
//       words and time range, grouped by conversation.
//   remember {content, title?} -> {id, title, source, created_at}: saves a note.
//   search {query, limit?} -> {results: [{id, title, source, excerpt, created_at}]}: saved memory
//       by relevance.
// Thread-safe (the Database is). Database errors are returned as Errors (kUnavailable, ...).
class MemoryToolProvider final : public tools::ToolProvider {
 public:
  // `db` must outlive the provider and have migrations 0001 and 0002 applied.
  explicit MemoryToolProvider(store::Database& db) : db_(db) {}

  [[nodiscard]] std::string_view server() const override { return "memory"; }
  [[nodiscard]] std::vector<tools::ToolInfo> ListTools() const override;
  [[nodiscard]] Result<tools::ToolCallResult> Call(std::string_view tool,
                                                   const nlohmann::json& args,
                                                   const tools::CallContext& ctx) override;

 private:
  [[nodiscard]] Result<tools::ToolCallResult> RecallConversation(const nlohmann::json& args,
                                                                 const tools::CallContext& ctx);
  [[nodiscard]] Result<tools::ToolCallResult> Remember(const nlohmann::json& args,
                                                       const tools::CallContext& ctx);
  [[nodiscard]] Result<tools::ToolCallResult> Search(const nlohmann::json& args,
                                                     const tools::CallContext& ctx);

  store::Database& db_;
};

}  // namespace steward::memory
