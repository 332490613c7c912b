#include "engine/tool_snapshot.hpp"

#include <nlohmann/json.hpp>

namespace steward::engine {

void InsertToolSnapshot(pqxx::work& tx, const std::string& run_id,
                        const std::vector<tools::ToolInfo>& tools) {
  if (tools.empty()) return;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& t : tools) {
    rows.push_back({{"name", t.name},
                    {"server", t.server},
                    {"description", t.description},
                    {"input_schema", t.input_schema.is_object() ? t.input_schema : nlohmann::json::object()},
                    {"risk_tier", t.risk_tier}});
  }
  // Descriptions come from third-party servers: invalid UTF-8 is replaced, not thrown on.
  tx.exec_params(
      "INSERT INTO tool_snapshot (run_id, name, server, description, input_schema, risk_tier) "
      "SELECT $1::uuid, t.name, t.server, t.description, t.input_schema, t.risk_tier "
      "FROM jsonb_to_recordset($2::jsonb) AS t(name text, server text, description text, "
      "input_schema jsonb, risk_tier text) "
      "ON CONFLICT (run_id, name) DO NOTHING",
      run_id, rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<std::vector<tools::ToolInfo>> LoadToolSnapshot(store::Database& db, const std::string& run_id) {
  return db.Read([&](pqxx::read_transaction& tx) {
    std::vector<tools::ToolInfo> out;
    for (const auto& row : tx.exec_params(
             "SELECT name, server, description, input_schema::text, risk_tier FROM tool_snapshot "
             "WHERE run_id = $1::uuid ORDER BY name",
             run_id)) {
      tools::ToolInfo info;
      info.name = row[0].as<std::string>();
      info.server = row[1].as<std::string>();
      info.description = row[2].as<std::string>();
      info.input_schema = nlohmann::json::parse(row[3].as<std::string>());
      info.risk_tier = row[4].as<std::string>();
      out.push_back(std::move(info));
    }
    return out;
  });
}

}  // namespace steward::engine
