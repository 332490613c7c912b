#include "tools/approval_gate.hpp"

#include <cstdio>
#include <random>

#include <spdlog/spdlog.h>

namespace steward::tools {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Version 4 UUID from the OS's random source.
std::string NewApprovalId() {
  std::random_device rd;
  unsigned char b[16];
  for (size_t i = 0; i < sizeof b; i += 4) {
    const uint32_t v = rd();
    for (size_t k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

void Emit(const CallContext& ctx, std::string_view type, const json& data) {
  if (ctx.emit) ctx.emit(type, data);
}

std::string Seconds(std::chrono::milliseconds ms) {
  const double s = static_cast<double>(ms.count()) / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, s == static_cast<double>(static_cast<long long>(s)) ? "%.0f s" : "%.1f s", s);
  return buf;
}

}  // namespace

ApprovalGate::ApprovalGate(ApprovalStore& store, ApprovalGateOptions options)
    : store_(store), options_(options) {}

Result<ApprovalOutcome> ApprovalGate::Await(const std::string& tool, const json& arguments,
                                            const Assessment& assessment, const CallContext& ctx) {
  ApprovalRecord request;
  request.id = NewApprovalId();
  request.run_id = ctx.run_id;
  request.session_id = ctx.session_id;
  request.tool = tool;
  request.arguments = arguments.is_null() ? json::object() : arguments;
  request.arguments_hash = ArgumentsHash(request.arguments);
  request.tier = std::string(TierName(assessment.tier));
  request.reason = assessment.reason;

  auto waiter = std::make_shared<Waiter>();
  {
    std::lock_guard lock(mu_);
    if (shutdown_) {
      return MakeError(ErrorCode::kUnavailable, "steward is shutting down; the call was not run", tool);
    }
    // Registered before the row exists, so a decision arriving right after the insert finds it.
    waiters_[request.id] = waiter;
  }
  auto stored = store_.Insert(request);
  if (!stored.ok()) {
    std::lock_guard lock(mu_);
    waiters_.erase(request.id);
    spdlog::error("approval for {} could not be stored, so the call is refused: {}", tool,
                  stored.error().ToString());
    return MakeError(stored.error().code,
                     "the approval request could not be stored, so the call was not run: " + stored.error().message,
                     tool);
  }
  request = std::move(*stored);
  spdlog::info("approval {} required: {} ({} risk: {}) for run {}", request.id, tool, request.tier,
               request.reason, request.run_id.empty() ? "-" : request.run_id);
  Emit(ctx, "approval_required",
       {{"approval_id", request.id},
        {"tool", tool},
        {"arguments", request.arguments},
        {"arguments_hash", request.arguments_hash},
        {"tier", request.tier},
        {"reason", request.reason},
        {"requested_at", request.requested_at},
        {"timeout_s", static_cast<double>(options_.timeout.count()) / 1000.0}});

  const auto deadline = Clock::now() + options_.timeout;
  ApprovalRecord decided;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, std::min(deadline, Clock::now() + options_.poll_interval),
                     [&] { return waiter->decided || shutdown_; });
      if (waiter->decided) {
        decided = waiter->record;
        break;
      }
      stopping = shutdown_;
    }
    // Checked outside the lock: the callback belongs to the caller.
    if (stopping) {
      decided = AutoDecide(request, ApprovalStatus::kDenied, "shutdown", "steward shut down while the call waited",
                           false);
      break;
    }
    if (ctx.cancelled && ctx.cancelled()) {
      decided = AutoDecide(request, ApprovalStatus::kDenied, "run_cancelled",
                           "the run was cancelled while the call waited", false);
      break;
    }
    if (Clock::now() >= deadline) {
      decided = AutoDecide(request, ApprovalStatus::kExpired, "timeout",
                           "no decision within " + Seconds(options_.timeout), true);
      if (decided.status == ApprovalStatus::kExpired) {
        spdlog::warn("approval {} expired after {} with no decision: {} for run {} was denied and escalated",
                     request.id, Seconds(options_.timeout), tool, request.run_id.empty() ? "-" : request.run_id);
      }
      break;
    }
  }
  {
    std::lock_guard lock(mu_);
    waiters_.erase(request.id);
  }

  ApprovalOutcome outcome{request.id, decided.status, decided.decided_by, decided.note};
  if (outcome.approved()) {
    // Consume it for exactly this call; the checks run in the database, not on our copy.
    if (Status used = store_.MarkUsed(request.id, ctx.run_id, tool, request.arguments_hash); !used.ok()) {
      spdlog::error("approval {} could not be bound to its call, so {} is refused: {}", request.id, tool,
                    used.error().ToString());
      outcome.status = ApprovalStatus::kDenied;
      outcome.by = "gate";
      outcome.note = used.error().message;
    }
  }
  json resolved = {{"approval_id", outcome.approval_id},
                   {"tool", tool},
                   {"decision", ApprovalStatusName(outcome.status)},
                   {"by", outcome.by}};
  if (!outcome.note.empty()) resolved["note"] = outcome.note;
  Emit(ctx, "approval_resolved", resolved);
  return outcome;
}

ApprovalRecord ApprovalGate::AutoDecide(const ApprovalRecord& request, ApprovalStatus status, const std::string& by,
                                        const std::string& note, bool escalated) {
  auto decided = store_.Decide(request.id, status, by, note, escalated);
  if (decided.ok()) {
    if (status != ApprovalStatus::kExpired) {  // expiry has its own warning
      spdlog::info("approval {} {} ({}): {} for run {}", request.id, ApprovalStatusName(status), by, request.tool,
                   request.run_id.empty() ? "-" : request.run_id);
    }
    return std::move(*decided);
  }
  if (decided.error().code == ErrorCode::kConflict) {
    // The owner's decision got there first; it stands.
    if (auto current = store_.Get(request.id); current.ok()) return std::move(*current);
  }
  // The store is unreachable: fail closed, whatever anyone decided.
  spdlog::error("approval {}: could not record \"{}\" ({}); the call is denied", request.id,
                ApprovalStatusName(status), decided.error().ToString());
  ApprovalRecord fallback = request;
  fallback.status = status;
  fallback.decided_by = by;
  fallback.note = note;
  fallback.escalated = escalated;
  return fallback;
}

Result<ApprovalRecord> ApprovalGate::Decide(const std::string& id, bool approve, const std::string& by,
                                            const std::string& note, const std::string& expected_hash) {
  if (!expected_hash.empty()) {
    auto current = store_.Get(id);
    if (!current.ok()) return current.error();
    if (current->arguments_hash != expected_hash) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "arguments_hash does not match approval " + id +
                           ": the call waiting for this decision has other arguments than the ones shown",
                       "arguments_hash");
    }
  }
  auto decided = store_.Decide(id, approve ? ApprovalStatus::kApproved : ApprovalStatus::kDenied, by, note, false);
  if (!decided.ok()) return decided.error();
  spdlog::info("approval {} {} by {}: {} for run {}{}", id, approve ? "approved" : "denied", by, decided->tool,
               decided->run_id.empty() ? "-" : decided->run_id, note.empty() ? "" : " (" + note + ")");
  {
    std::lock_guard lock(mu_);
    if (auto it = waiters_.find(id); it != waiters_.end()) {
      it->second->decided = true;
      it->second->record = *decided;
    }
  }
  cv_.notify_all();
  return decided;
}

Result<std::vector<ApprovalRecord>> ApprovalGate::List(std::optional<ApprovalStatus> status, int limit) {
  return store_.List(status, limit);
}

Result<ApprovalRecord> ApprovalGate::Get(const std::string& id) { return store_.Get(id); }

Result<int> ApprovalGate::RecoverAfterRestart() {
  auto expired = store_.ExpireAllPending("restart", "steward restarted while the call waited");
  if (expired.ok() && *expired > 0) {
    spdlog::warn("{} approval(s) left pending by the previous run of steward were expired and escalated", *expired);
  }
  return expired;
}

void ApprovalGate::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

size_t ApprovalGate::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

ToolCallResult NotApprovedResult(const std::string& tool, const ApprovalOutcome& outcome,
                                 std::chrono::milliseconds timeout) {
  std::string text;
  if (outcome.status == ApprovalStatus::kExpired) {
    text = "No one approved this call to " + tool + " within " + Seconds(timeout) +
           ", so it was not run (approval " + outcome.approval_id + " expired and was escalated to the owner).";
  } else if (outcome.by == "owner") {
    text = "The user denied this call to " + tool + " (approval " + outcome.approval_id + "), so it was not run.";
  } else {
    text = "This call to " + tool + " was not run: " +
           (outcome.note.empty() ? std::string("it was not approved") : outcome.note) + " (approval " +
           outcome.approval_id + ").";
  }
  if (!outcome.note.empty() && outcome.by == "owner") text += " Their note: " + outcome.note;
  text += " Do not retry it; tell the user it was not done.";
  return ToolCallResult::Text(std::move(text),
                              json{{"approval_id", outcome.approval_id},
                                   {"decision", ApprovalStatusName(outcome.status)},
                                   {"by", outcome.by}},
                              /*is_error=*/true);
}

}  // namespace steward::tools
