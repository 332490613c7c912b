#include "models/budget_guard.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <thread>

#include <spdlog/spdlog.h>

#include "telemetry/instruments.hpp"

namespace steward::models {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Short(const std::string& id) { return id.substr(0, 8); }

void Emit(const ModelCallContext& context, std::string_view type, const Json& data) {
  if (context.emit) context.emit(type, data);
}

Json DescribeBudget(const BudgetScope& scope, const ScopeUsage& usage, double ratio, std::string_view level) {
  Json out = {{"scope", BudgetScopeKindName(scope.kind)}, {"id", scope.id}, {"level", level},
              {"spent_usd", usage.spent_usd}, {"ratio", ratio}};
  if (scope.limit_usd) out["limit_usd"] = *scope.limit_usd;
  if (scope.limit_tokens) {
    out["limit_tokens"] = *scope.limit_tokens;
    out["spent_tokens"] = usage.spent_tokens;
  }
  return out;
}

// The budget's gauges: one series per scope kind and name, not per run.
void Publish(const BudgetScope& scope, const ScopeUsage& usage, double ratio, telemetry::metrics::BudgetState state) {
  if (!scope.limit_usd) return;
  const std::string_view kind = BudgetScopeKindName(scope.kind);
  std::string key = "owner";
  if (scope.kind == BudgetScopeKind::kRun) key = "last_run";
  if (scope.kind == BudgetScopeKind::kWorkflow) {
    const size_t open = scope.label.find('(');
    key = open == std::string::npos ? "workflow" : scope.label.substr(open + 1, scope.label.size() - open - 2);
  }
  telemetry::metrics::SetBudget(kind, key, *scope.limit_usd, usage.spent_usd, state);
  (void)ratio;
}

}  // namespace

std::string UtcDay() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

BudgetGuard::BudgetGuard(BudgetConfig config, store::Database& db, BudgetApprover approver, BudgetGuardOptions options)
    : config_(std::move(config)), ledger_(db), approver_(std::move(approver)), options_(options) {}

Result<std::vector<BudgetScope>> BudgetGuard::ScopesFor(const std::string& run_id, bool money) {
  std::vector<BudgetScope> scopes;
  if (!run_id.empty() && ((money && config_.per_run_usd) || config_.per_run_tokens)) {
    BudgetScope s;
    s.kind = BudgetScopeKind::kRun;
    s.key = "run:" + run_id;
    s.id = run_id;
    s.label = "run " + Short(run_id);
    s.setting = "budgets.per_run_usd";
    s.limit_usd = config_.per_run_usd;
    s.limit_tokens = config_.per_run_tokens;
    scopes.push_back(std::move(s));
  }
  if (!run_id.empty() && money && config_.per_workflow_usd) {
    std::vector<std::pair<std::string, std::string>> workflows;
    {
      std::lock_guard lock(mu_);
      if (auto it = workflows_.find(run_id); it != workflows_.end()) workflows = it->second;
    }
    if (workflows.empty()) {
      auto found = ledger_.WorkflowRunsOf(run_id);
      if (!found.ok()) return found.error();
      workflows = std::move(*found);
      std::lock_guard lock(mu_);
      if (workflows_.size() > 10'000) workflows_.clear();  // a run's ancestry never changes; this only bounds memory
      workflows_[run_id] = workflows;
    }
    for (const auto& [id, name] : workflows) {
      BudgetScope s;
      s.kind = BudgetScopeKind::kWorkflow;
      s.key = "workflow:" + id;
      s.id = id;
      s.label = "workflow run " + Short(id) + (name.empty() ? "" : " (" + name + ")");
      s.setting = "budgets.per_workflow_usd";
      s.limit_usd = config_.per_workflow_usd;
      scopes.push_back(std::move(s));
    }
  }
  if (money && config_.per_user_daily_usd) {
    const std::string day = UtcDay();
    BudgetScope s;
    s.kind = BudgetScopeKind::kUserDay;
    s.key = "user:" + config_.user + ":" + day;
    s.id = day;
    s.label = "the " + config_.user + "'s spending on " + day + " (UTC)";
    s.setting = "budgets.per_user_daily_usd";
    s.limit_usd = config_.per_user_daily_usd;
    scopes.push_back(std::move(s));
  }
  return scopes;
}

BudgetEstimate BudgetGuard::Estimate(const ModelRoute& route, const ChatRequest& request) {
  // Prompt: about one token per 3 bytes of the JSON sent (an overestimate for English text).
  const size_t bytes = request.messages.dump().size() + (request.tools.empty() ? 0 : request.tools.dump().size());
  Usage usage;
  usage.prompt_tokens = static_cast<int64_t>((bytes + 2) / 3);
  if (request.max_tokens && *request.max_tokens > 0) {
    usage.completion_tokens = *request.max_tokens;
  } else {
    std::lock_guard lock(mu_);
    const auto it = max_completion_.find(route.name);
    usage.completion_tokens =
        std::max(options_.default_completion_tokens, it == max_completion_.end() ? int64_t{0} : it->second);
  }
  return {CostUsd(route, usage), usage.total()};
}

Result<BudgetAdmission> BudgetGuard::Admit(const ModelRoute& route, const ChatRequest& request,
                                           const ModelCallContext& context) {
  const bool money = route.input_price_per_mtok > 0 || route.output_price_per_mtok > 0;
  auto scopes = ScopesFor(context.run_id, money);
  if (!scopes.ok()) {
    return MakeError(ErrorCode::kUnavailable,
                     "the budget ledger cannot be read, so the call was not made: " + scopes.error().message,
                     "budgets");
  }
  if (scopes->empty()) return BudgetAdmission{};
  const BudgetEstimate estimate = Estimate(route, request);
  const auto deadline = Clock::now() + options_.max_wait;
  bool said_waiting = false;
  for (;;) {
    auto attempt = ledger_.TryReserve(*scopes, estimate, money, config_, route.name, options_.hold);
    if (!attempt.ok()) {
      return MakeError(ErrorCode::kUnavailable,
                       "the budget ledger cannot be updated, so the call was not made: " + attempt.error().message,
                       "budgets");
    }
    const BudgetScope& scope = (*scopes)[attempt->scope];
    const ScopeUsage& usage = attempt->usage[attempt->scope];
    if (attempt->verdict == Verdict::kAdmit) {
      BudgetAdmission admission;
      admission.reservation = attempt->reservation_id;
      for (size_t i = 0; i < scopes->size(); ++i) {
        const double r = attempt->ratio[i];
        Publish((*scopes)[i], attempt->usage[i], r,
                r >= config_.approve_at && config_.approve_at < 1 ? telemetry::metrics::BudgetState::kApprovalRequired
                : r >= config_.warn_at                             ? telemetry::metrics::BudgetState::kWarning
                                                                   : telemetry::metrics::BudgetState::kOk);
      }
      for (size_t i : attempt->warn) {
        const BudgetScope& s = (*scopes)[i];
        const ScopeUsage& u = attempt->usage[i];
        const std::string text = "budget warning: " + s.label + " has used " +
                                 std::to_string(static_cast<int>(std::lround(attempt->ratio[i] * 100))) +
                                 "% of its limit (spent " + FormatUsd(u.spent_usd) +
                                 (s.limit_usd ? " of " + FormatUsd(*s.limit_usd) : std::string()) + ", " + s.setting +
                                 ")";
        spdlog::warn("{}", text);
        telemetry::metrics::BudgetAction(BudgetScopeKindName(s.kind), "warned");
        Emit(context, "status", {{"text", text}, {"budget", DescribeBudget(s, u, attempt->ratio[i], "warning")}});
        admission.warnings.push_back(text);
      }
      return admission;
    }
    if (attempt->verdict == Verdict::kRefuse) {
      spdlog::warn("{}", attempt->message);
      telemetry::metrics::BudgetAction(BudgetScopeKindName(scope.kind), "refused");
      Publish(scope, usage, attempt->ratio[attempt->scope], telemetry::metrics::BudgetState::kExhausted);
      Emit(context, "status",
           {{"text", attempt->message}, {"budget", DescribeBudget(scope, usage, attempt->ratio[attempt->scope], "exceeded")}});
      return MakeError(ErrorCode::kBudgetExceeded, attempt->message, scope.setting);
    }
    if (attempt->verdict == Verdict::kNeedApproval) {
      auto claimed = ledger_.ClaimApproval(scope.key, options_.approval_timeout + std::chrono::seconds(60));
      if (!claimed.ok()) {
        return MakeError(ErrorCode::kUnavailable,
                         "the budget ledger cannot be updated, so the call was not made: " + claimed.error().message,
                         "budgets");
      }
      if (*claimed) {
        spdlog::warn("budget approval needed: {}", attempt->message);
        telemetry::metrics::BudgetAction(BudgetScopeKindName(scope.kind), "approval_required");
        Publish(scope, usage, attempt->ratio[attempt->scope], telemetry::metrics::BudgetState::kApprovalRequired);
        Emit(context, "status",
             {{"text", "waiting for the owner's approval: " + attempt->message},
              {"budget", DescribeBudget(scope, usage, attempt->ratio[attempt->scope], "approval")}});
        BudgetApprovalRequest ask;
        ask.run_id = context.run_id;
        ask.tool = "budget." + std::string(BudgetScopeKindName(scope.kind));
        ask.arguments = DescribeBudget(scope, usage, attempt->ratio[attempt->scope], "approval");
        ask.arguments["model"] = route.name;
        ask.arguments["setting"] = scope.setting;
        ask.reason = attempt->message;
        ask.emit = context.emit;
        ask.cancelled = context.cancelled;
        Result<BudgetApprovalOutcome> outcome =
            approver_ ? approver_(ask)
                      : Result<BudgetApprovalOutcome>(
                            MakeError(ErrorCode::kBudgetExceeded, "no approval gate is configured", "budgets"));
        const std::string state = outcome.ok() && outcome->decided ? (outcome->approved ? "approved" : "denied") : "none";
        const std::string approval_id = outcome.ok() ? outcome->approval_id : std::string();
        if (Status s = ledger_.FinishApproval(scope.key, state, approval_id); !s.ok()) {
          spdlog::error("budget {}: could not record the owner's decision {}: {}", scope.key, state, s.error().ToString());
        }
        if (!outcome.ok()) return outcome.error();
        if (!outcome->decided) {
          return MakeError(ErrorCode::kCancelled,
                           "the call waited for the owner's budget approval and was not made (the run ended or "
                           "steward is shutting down)",
                           scope.setting);
        }
        continue;  // decided: the next attempt admits or refuses
      }
      // Another call is asking the owner: wait for the answer like for calls in flight.
    }
    if (!said_waiting) {
      spdlog::debug("model call for {} waits on {} (calls in flight, or the owner's approval)", route.name, scope.label);
      said_waiting = true;
    }
    if (context.cancelled && context.cancelled()) {
      return MakeError(ErrorCode::kCancelled, "the run ended while its model call waited for budget", scope.setting);
    }
    if (Clock::now() >= deadline) {
      return MakeError(ErrorCode::kBudgetExceeded,
                       "the call to model \"" + route.name + "\" waited " +
                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.max_wait).count()) +
                           " s for " + scope.label +
                           " (the rest of its budget was held by calls in flight or awaiting the owner's approval) "
                           "and was not made",
                       scope.setting);
    }
    std::this_thread::sleep_for(options_.poll);
  }
}

void BudgetGuard::Settle(pqxx::work& tx, const BudgetAdmission& admission, const ModelRoute& route, const Usage& usage,
                         double cost_usd) {
  {
    std::lock_guard lock(mu_);
    int64_t& seen = max_completion_[route.name];
    seen = std::max(seen, usage.completion_tokens);
  }
  if (!admission.reservation.empty()) BudgetLedger::Settle(tx, admission.reservation, cost_usd, usage.total());
}

void BudgetGuard::Release(const BudgetAdmission& admission) {
  if (!admission.reservation.empty()) ledger_.Release(admission.reservation);
}

}  // namespace steward::models
