#include "models/cost_rollup.hpp"

#include <algorithm>
#include <cctype>

namespace steward::models {

namespace {

bool LooksLikeUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

CostTotals Totals(const pqxx::row& row, int first) {
  CostTotals t;
  t.model_calls = row[first].as<int64_t>();
  t.prompt_tokens = row[first + 1].as<int64_t>();
  t.completion_tokens = row[first + 2].as<int64_t>();
  t.cost_usd = row[first + 3].as<double>();
  return t;
}

}  // namespace

Result<std::map<std::string, CostTotals>> RunCosts(store::Database& db, const std::vector<std::string>& run_ids) {
  std::map<std::string, CostTotals> out;
  std::string list;
  for (const auto& id : run_ids) {
    out[id];
    if (!LooksLikeUuid(id)) continue;
    list += (list.empty() ? "" : ",") + id;  // checked above: hex and dashes only
  }
  if (list.empty()) return out;
  auto filled = db.Read([&](pqxx::read_transaction& tx) {
    const pqxx::result rows = tx.exec(
        "SELECT r::text, c.model_calls, c.prompt_tokens, c.completion_tokens, c.cost_usd::float8 "
        "FROM unnest(string_to_array('" + list + "', ',')::uuid[]) AS r CROSS JOIN LATERAL steward_run_cost(r) c");
    for (const auto& row : rows) out[row[0].as<std::string>()] = Totals(row, 1);
  });
  if (!filled.ok()) return filled.error();
  return out;
}

Result<std::vector<CostRow>> CostByDay(store::Database& db, CostGrouping grouping, int days) {
  const char* sql = nullptr;
  switch (grouping) {
    case CostGrouping::kAgentDay:
      sql = "SELECT agent, day::text, model_calls, prompt_tokens, completion_tokens, cost_usd::float8 FROM cost_by_agent "
            "WHERE day > (now() AT TIME ZONE 'UTC')::date - $1::int ORDER BY day DESC, cost_usd DESC";
      break;
    case CostGrouping::kUserDay:
      sql = "SELECT \"user\", day::text, model_calls, prompt_tokens, completion_tokens, cost_usd::float8 "
            "FROM cost_by_user_day "
            "WHERE day > (now() AT TIME ZONE 'UTC')::date - $1::int ORDER BY day DESC";
      break;
    case CostGrouping::kModelDay:
      sql = "SELECT model, day::text, model_calls, prompt_tokens, completion_tokens, cost_usd::float8 FROM cost_by_day "
            "WHERE day > (now() AT TIME ZONE 'UTC')::date - $1::int ORDER BY day DESC, cost_usd DESC";
      break;
  }
  return db.Read([&](pqxx::read_transaction& tx) {
    std::vector<CostRow> out;
    for (const auto& row : tx.exec_params(sql, std::max(days, 1))) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), Totals(row, 2)});
    }
    return out;
  });
}

}  // namespace steward::models
