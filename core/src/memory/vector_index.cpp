#include "memory/vector_index.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <hnswlib/hnswlib.h>

namespace steward::memory {

namespace {

float Dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void KeepBest(std::vector<VectorMatch>& matches, size_t k) {
  const auto better = [](const VectorMatch& a, const VectorMatch& b) {
    return a.similarity != b.similarity ? a.similarity > b.similarity : a.id < b.id;
  };
  if (matches.size() > k) {
    std::partial_sort(matches.begin(), matches.begin() + static_cast<std::ptrdiff_t>(k), matches.end(), better);
    matches.resize(k);
  } else {
    std::sort(matches.begin(), matches.end(), better);
  }
}

}  // namespace

struct VectorIndex::Impl {
  Impl(int dimension, const VectorIndexOptions& options)
      : space(static_cast<size_t>(dimension)),
        hnsw(&space, std::max<size_t>(16, options.initial_capacity), static_cast<size_t>(options.m),
             static_cast<size_t>(options.ef_construction)) {
    hnsw.setEf(static_cast<size_t>(std::max(1, options.ef_search)));
  }
  hnswlib::InnerProductSpace space;
  hnswlib::HierarchicalNSW<float> hnsw;
  size_t live = 0;  // labels present and not deleted
};

VectorIndex::VectorIndex(int dimension, VectorIndexOptions options)
    : dimension_(dimension), options_(options), impl_(std::make_unique<Impl>(dimension, options)) {}

VectorIndex::~VectorIndex() = default;

size_t VectorIndex::size() const {
  std::shared_lock lock(mu_);
  return impl_->live;
}

void VectorIndex::EnsureCapacity(size_t needed) {
  auto& h = impl_->hnsw;
  if (needed <= h.max_elements_) return;
  h.resizeIndex(std::max(needed, h.max_elements_ * 2));
}

Status VectorIndex::Upsert(int64_t id, const std::vector<float>& vector) {
  if (static_cast<int>(vector.size()) != dimension_) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "vector has " + std::to_string(vector.size()) + " dimensions, the index " +
                         std::to_string(dimension_));
  }
  std::unique_lock lock(mu_);
  auto& h = impl_->hnsw;
  const auto label = static_cast<hnswlib::labeltype>(id);
  const auto found = h.label_lookup_.find(label);
  const bool was_live = found != h.label_lookup_.end() && !h.isMarkedDeleted(found->second);
  EnsureCapacity(h.cur_element_count + 1);
  h.addPoint(vector.data(), label);
  if (!was_live) ++impl_->live;
  return Status::Ok();
}

Status VectorIndex::UpsertMany(const std::vector<std::pair<int64_t, std::vector<float>>>& items, int threads) {
  for (const auto& [id, v] : items) {
    if (static_cast<int>(v.size()) != dimension_) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "vector of chunk " + std::to_string(id) + " has " + std::to_string(v.size()) +
                           " dimensions, the index " + std::to_string(dimension_));
    }
  }
  std::unique_lock lock(mu_);
  auto& h = impl_->hnsw;
  size_t fresh = 0;
  for (const auto& item : items) {
    const auto found = h.label_lookup_.find(static_cast<hnswlib::labeltype>(item.first));
    if (found == h.label_lookup_.end() || h.isMarkedDeleted(found->second)) ++fresh;
  }
  EnsureCapacity(h.cur_element_count + items.size());
  // hnswlib's addPoint is safe to call from several threads for distinct labels.
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i = next++; i < items.size(); i = next++) {
      h.addPoint(items[i].second.data(), static_cast<hnswlib::labeltype>(items[i].first));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  impl_->live += fresh;
  return Status::Ok();
}

void VectorIndex::Remove(int64_t id) {
  std::unique_lock lock(mu_);
  auto& h = impl_->hnsw;
  const auto found = h.label_lookup_.find(static_cast<hnswlib::labeltype>(id));
  if (found == h.label_lookup_.end() || h.isMarkedDeleted(found->second)) return;
  h.markDelete(static_cast<hnswlib::labeltype>(id));
  --impl_->live;
}

std::vector<VectorMatch> VectorIndex::Search(const std::vector<float>& query, size_t k) const {
  std::vector<VectorMatch> out;
  if (static_cast<int>(query.size()) != dimension_ || k == 0) return out;
  std::shared_lock lock(mu_);
  if (impl_->live == 0) return out;
  auto result = impl_->hnsw.searchKnn(query.data(), std::min(k, impl_->live));
  out.reserve(result.size());
  while (!result.empty()) {
    // InnerProductSpace distance is 1 - dot.
    out.push_back({static_cast<int64_t>(result.top().second), 1.0f - result.top().first});
    result.pop();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<VectorMatch> VectorIndex::ScoreExact(const std::vector<float>& query, const std::vector<int64_t>& ids,
                                                 size_t k) const {
  std::vector<VectorMatch> out;
  if (static_cast<int>(query.size()) != dimension_) return out;
  std::shared_lock lock(mu_);
  const auto& h = impl_->hnsw;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    const auto found = h.label_lookup_.find(static_cast<hnswlib::labeltype>(id));
    if (found == h.label_lookup_.end() || h.isMarkedDeleted(found->second)) continue;
    const auto* v = reinterpret_cast<const float*>(h.getDataByInternalId(found->second));
    out.push_back({id, Dot(query.data(), v, dimension_)});
  }
  KeepBest(out, k);
  return out;
}

std::vector<VectorMatch> VectorIndex::SearchExact(const std::vector<float>& query, size_t k) const {
  std::vector<VectorMatch> out;
  if (static_cast<int>(query.size()) != dimension_) return out;
  std::shared_lock lock(mu_);
  const auto& h = impl_->hnsw;
  out.reserve(h.cur_element_count);
  for (size_t i = 0; i < h.cur_element_count; ++i) {
    const auto internal = static_cast<hnswlib::tableint>(i);
    if (h.isMarkedDeleted(internal)) continue;
    const auto* v = reinterpret_cast<const float*>(h.getDataByInternalId(internal));
    out.push_back({static_cast<int64_t>(h.getExternalLabel(internal)), Dot(query.data(), v, dimension_)});
  }
  KeepBest(out, k);
  return out;
}

void VectorIndex::set_ef_search(int ef) {
  std::unique_lock lock(mu_);
  impl_->hnsw.setEf(static_cast<size_t>(std::max(1, ef)));
}

}  // namespace steward::memory
