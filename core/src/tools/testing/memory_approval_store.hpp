#pragma once
// An in-memory ApprovalStore for unit tests of the approval gate: the same transitions and
// checks as PgApprovalStore (approval_store_pgtest.cpp holds both to them), no database.

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "tools/approval_store.hpp"

namespace steward::tools::testing {

class MemoryApprovalStore final : public ApprovalStore {
 public:
  Result<ApprovalRecord> Insert(const ApprovalRecord& record) override {
    std::lock_guard lock(mu_);
    if (fail_inserts_) return MakeError(ErrorCode::kUnavailable, "database is down");
    ApprovalRecord r = record;
    r.requested_at = Now();
    rows_[r.id] = r;
    order_.push_back(r.id);
    return r;
  }

  Result<ApprovalRecord> Decide(const std::string& id, ApprovalStatus status, const std::string& by,
                                const std::string& note, bool escalated) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end()) return MakeError(ErrorCode::kNotFound, "no approval with id " + id, "id");
    ApprovalRecord& r = it->second;
    if (r.status != ApprovalStatus::kPending) {
      return MakeError(ErrorCode::kConflict,
                       "approval " + id + " was already decided: " + std::string(ApprovalStatusName(r.status)),
                       "id");
    }
    r.status = status;
    r.decided_at = Now();
    r.decided_by = by;
    r.note = note;
    r.escalated = escalated;
    return r;
  }

  Status MarkUsed(const std::string& id, const std::string& run_id, const std::string& tool,
                  const std::string& arguments_hash) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.status != ApprovalStatus::kApproved || !it->second.used_at.empty() ||
        it->second.run_id != run_id || it->second.tool != tool || it->second.arguments_hash != arguments_hash) {
      return MakeError(ErrorCode::kPermissionDenied, "approval " + id + " does not cover this call", tool);
    }
    it->second.used_at = Now();
    return Status::Ok();
  }

  Result<ApprovalRecord> Get(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end()) return MakeError(ErrorCode::kNotFound, "no approval with id " + id, "id");
    return it->second;
  }

  Result<std::vector<ApprovalRecord>> List(std::optional<ApprovalStatus> status, int limit) override {
    std::lock_guard lock(mu_);
    std::vector<ApprovalRecord> out;
    for (auto it = order_.rbegin(); it != order_.rend() && static_cast<int>(out.size()) < limit; ++it) {
      const ApprovalRecord& r = rows_.at(*it);
      if (!status || r.status == *status) out.push_back(r);
    }
    return out;
  }

  Result<int> ExpireAllPending(const std::string& by, const std::string& note) override {
    std::lock_guard lock(mu_);
    int n = 0;
    for (auto& [id, r] : rows_) {
      if (r.status != ApprovalStatus::kPending) continue;
      r.status = ApprovalStatus::kExpired;
      r.decided_at = Now();
      r.decided_by = by;
      r.note = note;
      r.escalated = true;
      ++n;
    }
    return n;
  }

  // Makes Insert fail, as a database outage would.
  void FailInserts(bool fail) {
    std::lock_guard lock(mu_);
    fail_inserts_ = fail;
  }

 private:
  std::string Now() { return "t" + std::to_string(++clock_); }

  std::mutex mu_;
  std::map<std::string, ApprovalRecord> rows_;
  std::vector<std::string> order_;
  bool fail_inserts_ = false;
  std::atomic<int> clock_{0};
};

}  // namespace steward::tools::testing
