#pragma once
// The runs executing in this process, findable by id and by their per-run token.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/live_run.hpp"

namespace steward::engine {

// Thread-safe.
class RunRegistry final {
 public:
  // Registers a run; fills in a fresh random token.
  std::shared_ptr<LiveRun> Add(RunIdentity identity);
  // The live run a bearer token belongs to, or null (unknown or finished).
  std::shared_ptr<LiveRun> FindByToken(std::string_view token) const;
  std::shared_ptr<LiveRun> FindById(std::string_view run_id) const;
  // Forgets the run and revokes its token.
  void Remove(const std::string& run_id);
  [[nodiscard]] size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<LiveRun>> by_id_;     // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::shared_ptr<LiveRun>> by_token_;  // GUARDED_BY(mu_)
};

// Random identifiers from the OS's CSPRNG.
[[nodiscard]] std::string RandomHex(size_t bytes);
[[nodiscard]] std::string NewUuid();  // RFC 4122 version 4, lowercase

}  // namespace steward::engine
