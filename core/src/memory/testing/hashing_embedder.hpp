#pragma once
// Test helper: a deterministic embedder (hashed bag of words, 64 dimensions). Texts sharing words
// are close, so behaviour tests can use the vector path without a model; it can be told to fail,
// and it counts what it embedded.

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "memory/embedder.hpp"

namespace steward::memory::fakes {

class HashingEmbedder final : public Embedder {
 public:
  explicit HashingEmbedder(std::string model = "hashing-64", int dimension = 64)
      : model_(std::move(model)), dimension_(dimension) {}

  [[nodiscard]] std::string model() const override { return model_; }
  [[nodiscard]] int dimension() const override { return dimension_; }

  Result<Embeddings> Embed(const std::vector<std::string>& texts) override {
    calls_++;
    if (failing_) return MakeError(ErrorCode::kUnavailable, "embedder is down (test)");
    Embeddings out{model_, dimension_, {}};
    for (const auto& text : texts) out.vectors.push_back(Vector(text));
    embedded_ += static_cast<int64_t>(texts.size());
    return out;
  }

  std::vector<float> Vector(const std::string& text) const {
    std::vector<float> v(static_cast<size_t>(dimension_), 0.0f);
    std::string word;
    const auto flush = [&] {
      if (word.size() < 3) {
        word.clear();
        return;
      }
      std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(word)));
      std::normal_distribution<float> n(0, 1);
      for (auto& x : v) x += n(rng);
      word.clear();
    };
    for (unsigned char c : text) {
      if (std::isalnum(c)) {
        word.push_back(static_cast<char>(std::tolower(c)));
      } else {
        flush();
      }
    }
    flush();
    if (std::all_of(v.begin(), v.end(), [](float x) { return x == 0; })) v[0] = 1;
    Normalize(v);
    return v;
  }

  void set_failing(bool failing) { failing_ = failing; }
  [[nodiscard]] int64_t embedded() const { return embedded_; }
  [[nodiscard]] int calls() const { return calls_; }

 private:
  const std::string model_;
  const int dimension_;
  std::atomic<bool> failing_{false};
  std::atomic<int64_t> embedded_{0};
  std::atomic<int> calls_{0};
};

}  // namespace steward::memory::fakes
