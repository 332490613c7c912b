#include "app/detail/memory_config.hpp"

#include "app/detail/ingest_config.hpp"

namespace steward::app::detail {

namespace {

Status ParseEmbeddings(const Field& f, memory::EmbeddingsConfig& e) {
  static const Keys kKeys = {"provider", "base_url", "api_key", "model", "dimension", "timeout_ms"};
  static const Keys kProviders = {"local", "openai", "none"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  STEWARD_RETURN_IF_ERROR(GetChoice(m->Get("provider"), kProviders, "embeddings provider", e.provider));
  const Field base_url = m->Get("base_url");
  std::string shown;
  STEWARD_RETURN_IF_ERROR(GetString(base_url, e.base_url, &shown));
  STEWARD_RETURN_IF_ERROR(GetString(m->Get("api_key"), e.api_key));
  const Field model = m->Get("model");
  STEWARD_RETURN_IF_ERROR(GetString(model, e.model));
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("dimension"), 0, 65536, e.dimension));
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("timeout_ms"), 100, 3'600'000, e.timeout_ms));
  if (e.provider == "openai") {
    if (e.base_url.rfind("http://", 0) != 0 && e.base_url.rfind("https://", 0) != 0) {
      return (base_url.present() ? base_url : f).Fail(
          "the openai embeddings provider needs base_url, the http(s) URL of an OpenAI-compatible API "
          "(e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 for Ollama)" +
          (base_url.present() ? ", got " + Quote(shown) : std::string()));
    }
    if (e.model.empty()) {
      return (model.present() ? model : f).Fail(
          "the openai embeddings provider needs model, e.g. text-embedding-3-small or nomic-embed-text");
    }
  } else if (e.provider == "local") {
    if (!e.model.empty() && e.model != memory::kLocalModel) {
      return model.Fail(std::string("the local embeddings provider runs ") + memory::kLocalModel +
                        " only; remove model or use provider: openai for " + Quote(e.model));
    }
    if (e.dimension != 0 && e.dimension != memory::kLocalDimension) {
      return m->Get("dimension").Fail("the local model has 384 dimensions");
    }
    e.model = memory::kLocalModel;
    e.dimension = memory::kLocalDimension;
  }
  return Status::Ok();
}

Status ParseSearch(const Field& f, memory::MemoryIndexOptions& o) {
  static const Keys kKeys = {"rrf_k", "recency_half_life_days", "source_authority", "vector_backend"};
  static const Keys kBackends = {"auto", "pgvector", "hnswlib"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  STEWARD_RETURN_IF_ERROR(GetNumber(m->Get("rrf_k"), 1, 1000, "a number between 1 and 1000 (60 is usual)", o.rrf_k));
  STEWARD_RETURN_IF_ERROR(GetNumber(m->Get("recency_half_life_days"), 0, 36500,
                                    "a number of days between 0 (no recency boost) and 36500",
                                    o.recency_half_life_days));
  STEWARD_RETURN_IF_ERROR(GetChoice(m->Get("vector_backend"), kBackends, "vector backend", o.vector_backend));
  Result<Mapping> authority = Mapping::Open(m->Get("source_authority"), nullptr);
  if (!authority.ok()) return authority.error();
  for (const Mapping::Entry& entry : authority->entries()) {
    if (entry.key.empty()) return entry.value.Fail("expected a glob over sources, e.g. /home/me/notes/*");
    double weight = 1;
    STEWARD_RETURN_IF_ERROR(GetNumber(entry.value, 0, 100, "a weight between 0 and 100 (1 = neutral)", weight));
    o.source_authority[entry.key] = weight;
  }
  return Status::Ok();
}

Status ParseChunking(const Field& f, memory::MemoryIndexOptions& o) {
  static const Keys kKeys = {"words", "overlap"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("words"), 20, 2000, o.chunk_tokens));
  const Field overlap = m->Get("overlap");
  STEWARD_RETURN_IF_ERROR(GetInt(overlap, 0, 1000, o.chunk_overlap));
  if (o.chunk_overlap >= o.chunk_tokens) {
    return (overlap.present() ? overlap : f).Fail("overlap must be smaller than words");
  }
  return Status::Ok();
}

}  // namespace

Status ParseMemorySection(const Field& f, Config& config) {
  static const Keys kKeys = {"embeddings", "search", "chunking", "ingest"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  STEWARD_RETURN_IF_ERROR(ParseEmbeddings(m->Get("embeddings"), config.memory.embeddings));
  STEWARD_RETURN_IF_ERROR(ParseSearch(m->Get("search"), config.memory.index));
  STEWARD_RETURN_IF_ERROR(ParseIngestSection(m->Get("ingest"), config.memory.ingest));
  return ParseChunking(m->Get("chunking"), config.memory.index);
}

}  // namespace steward::app::detail
