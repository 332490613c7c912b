#include "models/budget_ledger.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>

namespace steward::models {

namespace {

// The cost already recorded for a scope that gets its first row: budgets switched on (or
// raised) mid-run or mid-day still count what was spent before.
const char* InitialSpendSql(BudgetScopeKind kind) {
  switch (kind) {
    case BudgetScopeKind::kRun:
      return "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint, "
             "count(*) FROM model_call WHERE run_id = $1::uuid";
    case BudgetScopeKind::kWorkflow:
      return "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint, "
             "count(*) FROM model_call WHERE run_id IN (SELECT run_id FROM steward_run_tree($1::uuid))";
    case BudgetScopeKind::kUserDay:
      return "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint, "
             "count(*) FROM model_call WHERE created_at >= ($1::date)::timestamp AT TIME ZONE 'UTC' "
             "AND created_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'";
  }
  return "";
}

void EnsureRow(pqxx::work& tx, const BudgetScope& scope) {
  if (!tx.exec_params("SELECT 1 FROM budget_ledger WHERE scope = $1", scope.key).empty()) return;
  const pqxx::row initial = tx.exec_params1(InitialSpendSql(scope.kind), scope.id);
  tx.exec_params(
      "INSERT INTO budget_ledger (scope, kind, spent_usd, spent_tokens, calls) VALUES ($1, $2, $3::numeric, $4, $5) "
      "ON CONFLICT (scope) DO NOTHING",
      scope.key, std::string(BudgetScopeKindName(scope.kind)), initial[0].c_str(), initial[1].as<int64_t>(),
      initial[2].as<int64_t>());
}

}  // namespace

std::string NewUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  unsigned char b[16];
  for (size_t i = 0; i < sizeof b; i += 8) {
    const uint64_t v = rng();
    for (size_t k = 0; k < 8; ++k) b[i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> BudgetLedger::WorkflowRunsOf(const std::string& run_id) {
  return db_.Read([&](pqxx::read_transaction& tx) {
    const pqxx::result rows = tx.exec_params(
        "WITH RECURSIVE up(id, parent, kind, workflow, depth) AS ("
        "  SELECT id, parent_run_id, kind, workflow, 0 FROM run WHERE id = $1::uuid"
        "  UNION ALL"
        "  SELECT r.id, r.parent_run_id, r.kind, r.workflow, up.depth + 1 FROM run r JOIN up ON r.id = up.parent"
        "  WHERE up.depth < 64)"
        "SELECT id::text, coalesce(workflow, '') FROM up WHERE kind = 'workflow' ORDER BY depth",
        run_id);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& row : rows) out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    return out;
  });
}

Result<BudgetAttempt> BudgetLedger::TryReserve(const std::vector<BudgetScope>& scopes, const BudgetEstimate& estimate,
                                               bool money, const BudgetConfig& config, std::string_view model,
                                               std::chrono::seconds hold) {
  // Lock in key order: two calls sharing scopes take their locks in the same order.
  std::vector<size_t> order(scopes.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scopes[a].key < scopes[b].key; });
  return db_.Transact([&](pqxx::work& tx) {
    BudgetAttempt attempt;
    attempt.usage.resize(scopes.size());
    attempt.ratio.resize(scopes.size());
    for (size_t i : order) EnsureRow(tx, scopes[i]);
    int worst = -1;
    for (size_t i : order) {
      const BudgetScope& scope = scopes[i];
      const pqxx::row row = tx.exec_params1(
          "SELECT spent_usd::float8, spent_tokens, approval_state, coalesce(approval_id::text, ''), "
          "warned_at IS NOT NULL FROM budget_ledger WHERE scope = $1 FOR UPDATE",
          scope.key);
      ScopeUsage& u = attempt.usage[i];
      u.spent_usd = row[0].as<double>();
      u.spent_tokens = row[1].as<int64_t>();
      u.approval = row[2].as<std::string>();
      u.approval_id = row[3].as<std::string>();
      u.warned = row[4].as<bool>();
      // Left by calls whose process died long ago (a live call settles or releases its own).
      tx.exec_params("DELETE FROM budget_reservation WHERE scope = $1 AND expires_at < now() - interval '1 hour'",
                     scope.key);
      const pqxx::row held = tx.exec_params1(
          "SELECT coalesce(sum(usd), 0)::float8, coalesce(sum(tokens), 0)::bigint FROM budget_reservation "
          "WHERE scope = $1 AND expires_at > now()",
          scope.key);
      u.reserved_usd = held[0].as<double>();
      u.reserved_tokens = held[1].as<int64_t>();
      const ScopeDecision d = Decide(scope, u, config, money, model);
      attempt.ratio[i] = d.ratio;
      if (d.warn) attempt.warn.push_back(i);
      const int severity = static_cast<int>(d.verdict);
      if (severity > worst && d.verdict != Verdict::kAdmit) {
        worst = severity;
        attempt.verdict = d.verdict;
        attempt.scope = i;
        attempt.message = d.message;
      }
    }
    if (attempt.verdict != Verdict::kAdmit) {
      attempt.warn.clear();  // reported when a call is admitted
      return attempt;
    }
    attempt.reservation_id = NewUuid();
    char usd[48];
    std::snprintf(usd, sizeof usd, "%.8f", estimate.usd);
    for (size_t i : order) {
      tx.exec_params(
          "INSERT INTO budget_reservation (id, scope, usd, tokens, expires_at) "
          "VALUES ($1::uuid, $2, $3::numeric, $4, now() + make_interval(secs => $5))",
          attempt.reservation_id, scopes[i].key, std::string(usd), estimate.tokens, static_cast<double>(hold.count()));
    }
    for (size_t i : attempt.warn) {
      tx.exec_params("UPDATE budget_ledger SET warned_at = now() WHERE scope = $1 AND warned_at IS NULL",
                     scopes[i].key);
    }
    return attempt;
  });
}

void BudgetLedger::Settle(pqxx::work& tx, const std::string& id, double cost_usd, int64_t tokens) {
  char usd[48];
  std::snprintf(usd, sizeof usd, "%.8f", cost_usd);
  tx.exec_params(
      "WITH held AS (DELETE FROM budget_reservation WHERE id = $1::uuid RETURNING scope) "
      "UPDATE budget_ledger SET spent_usd = spent_usd + $2::numeric, spent_tokens = spent_tokens + $3, "
      "calls = calls + 1, updated_at = now() WHERE scope IN (SELECT scope FROM held)",
      id, std::string(usd), tokens);
}

void BudgetLedger::Release(const std::string& id) {
  (void)db_.Transact([&](pqxx::work& tx) { tx.exec_params("DELETE FROM budget_reservation WHERE id = $1::uuid", id); });
}

Result<bool> BudgetLedger::ClaimApproval(const std::string& scope, std::chrono::seconds stale_after) {
  return db_.Transact([&](pqxx::work& tx) {
    const pqxx::result r = tx.exec_params(
        "UPDATE budget_ledger SET approval_state = 'pending', approval_claimed_at = now(), approval_id = NULL "
        "WHERE scope = $1 AND (approval_state = 'none' OR (approval_state = 'pending' AND "
        "approval_claimed_at < now() - make_interval(secs => $2))) RETURNING scope",
        scope, static_cast<double>(stale_after.count()));
    return !r.empty();
  });
}

Status BudgetLedger::FinishApproval(const std::string& scope, std::string_view state, const std::string& approval_id) {
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE budget_ledger SET approval_state = $2, approval_id = NULLIF($3, '')::uuid, updated_at = now() "
        "WHERE scope = $1 AND approval_state = 'pending'",
        scope, std::string(state), approval_id);
  });
}

Result<ScopeUsage> BudgetLedger::Get(const std::string& scope) {
  return db_.Read([&](pqxx::read_transaction& tx) {
    ScopeUsage u;
    const pqxx::result r = tx.exec_params(
        "SELECT spent_usd::float8, spent_tokens, approval_state, coalesce(approval_id::text, ''), "
        "warned_at IS NOT NULL, (SELECT coalesce(sum(usd), 0)::float8 FROM budget_reservation b "
        "WHERE b.scope = l.scope AND b.expires_at > now()) FROM budget_ledger l WHERE scope = $1",
        scope);
    if (r.empty()) return u;
    u.spent_usd = r[0][0].as<double>();
    u.spent_tokens = r[0][1].as<int64_t>();
    u.approval = r[0][2].as<std::string>();
    u.approval_id = r[0][3].as<std::string>();
    u.warned = r[0][4].as<bool>();
    u.reserved_usd = r[0][5].as<double>();
    return u;
  });
}

}  // namespace steward::models
