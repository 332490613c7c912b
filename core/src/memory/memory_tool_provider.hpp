#pragma once
// The built-in "memory" tool server: lets an agent recall earlier conversations, save notes and
// search saved memory. Every access is written to memory_access_log in the same transaction.

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "memory/memory_index.hpp"
#include "store/database.hpp"
#include "tools/tool.hpp"

namespace steward::memory {

// Tools (namespaced under "memory"):
//   recall_conversation {query, since?, until?, limit?} -> {matches: [{session_id, session_title,
//       created_at, role, excerpt}]}: earlier chat messages (never ctx.session_id's) by topic
//       words and time range, grouped by conversation.
//   remember {content, title?} -> {id, title, source, created_at}: saves a note (chunked and
//       embedded through the MemoryIndex, so memory.search finds it at once).
//   search {query, limit?, types?, since?, until?, as_of?} -> {results: [{id, item_id, title,
//       source, excerpt, created_at, score, ...}], plan}: hybrid search (full-text + vectors)
//       with the plan that answered it; each result cites its item id, title and source.
// Thread-safe (the Database is). Database errors are returned as Errors (kUnavailable, ...).
class MemoryToolProvider final : public tools::ToolProvider {
 public:
  // `db` (and `index`, if given) must outlive the provider; migrations applied. Without an
  // index, remember and search use memory_item's own full-text column only.
  explicit MemoryToolProvider(store::Database& db, MemoryIndex* index = nullptr) : db_(db), index_(index) {}

  [[nodiscard]] std::string_view server() const override { return "memory"; }
  [[nodiscard]] std::vector<tools::ToolInfo> ListTools() const override;
  [[nodiscard]] std::shared_ptr<const tools::ToolInfo> FindTool(std::string_view name) const override;
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

  [[nodiscard]] Result<tools::ToolCallResult> RememberIndexed(const nlohmann::json& args,
                                                              const tools::CallContext& ctx);
  [[nodiscard]] Result<tools::ToolCallResult> SearchIndexed(const nlohmann::json& args,
                                                            const tools::CallContext& ctx);

  store::Database& db_;
  MemoryIndex* index_;
};

}  // namespace steward::memory
