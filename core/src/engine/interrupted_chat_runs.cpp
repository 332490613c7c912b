#include "engine/interrupted_chat_runs.hpp"

#include <pqxx/pqxx>

namespace steward::engine {

nlohmann::json InterruptedChatRunError() {
  return {{"code", "interrupted"},
          {"message", "the core stopped while this turn was running; send the message again to retry"}};
}

Result<std::vector<std::string>> FailInterruptedChatRuns(store::Database& db, const std::string& self, int limit,
                                                         std::chrono::milliseconds ownerless_grace) {
  const std::string grace = std::to_string(ownerless_grace.count()) + " milliseconds";
  return db.Transact([&](pqxx::work& tx) {
    // SKIP LOCKED: a run whose owner is renewing its lease right now is skipped (and no longer
    // expired once that commits); two sweeps never take the same run. The FOR UPDATE re-checks
    // the conditions on the latest row, so a run that ended meanwhile is left alone.
    const pqxx::result r = tx.exec_params(
        "UPDATE run SET status = 'failed', error = $1::jsonb, finished_at = now(), owner = NULL, lease_until = NULL "
        "WHERE id IN ("
        "  SELECT id FROM run WHERE kind = 'chat' AND status = 'running' AND ("
        "    (owner IS NOT NULL AND owner <> $2 AND (lease_until IS NULL OR lease_until < now())) OR"
        "    (owner IS NULL AND started_at < now() - $3::interval))"
        "  ORDER BY started_at LIMIT $4 FOR UPDATE SKIP LOCKED) "
        "RETURNING id::text",
        InterruptedChatRunError().dump(), self, grace, limit);
    std::vector<std::string> ids;
    ids.reserve(r.size());
    for (const auto& row : r) ids.push_back(row[0].as<std::string>());
    return ids;
  });
}

}  // namespace steward::engine
