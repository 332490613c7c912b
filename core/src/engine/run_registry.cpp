#include "engine/run_registry.hpp"

#include <sys/random.h>

#include <array>
#include <stdexcept>

namespace steward::engine {

namespace {
void FillRandom(unsigned char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::getrandom(out + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");  // the kernel's CSPRNG is gone: nothing sane to do
    }
    done += static_cast<size_t>(got);
  }
}
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  FillRandom(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string NewUuid() {
  std::array<unsigned char, 16> b{};
  FillRandom(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

std::shared_ptr<LiveRun> RunRegistry::Add(RunIdentity identity) {
  identity.token = "run_" + RandomHex(24);
  auto run = std::make_shared<LiveRun>(std::move(identity));
  std::lock_guard lock(mu_);
  by_id_[run->id()] = run;
  by_token_[run->identity().token] = run;
  return run;
}

std::shared_ptr<LiveRun> RunRegistry::FindByToken(std::string_view token) const {
  std::lock_guard lock(mu_);
  auto it = by_token_.find(std::string(token));
  return it == by_token_.end() ? nullptr : it->second;
}

std::shared_ptr<LiveRun> RunRegistry::FindById(std::string_view run_id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(std::string(run_id));
  return it == by_id_.end() ? nullptr : it->second;
}

void RunRegistry::Remove(const std::string& run_id) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(run_id);
  if (it == by_id_.end()) return;
  by_token_.erase(it->second->identity().token);
  by_id_.erase(it);
}

size_t RunRegistry::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

}  // namespace steward::engine
