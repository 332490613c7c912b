#pragma once
// Turns texts into vectors for memory search. Implementations: a local sentence-embedding model
// hosted in a Python worker (wired by app/server.cpp through FunctionEmbedder, so memory does
// not depend on runners) and any OpenAI-compatible /v1/embeddings server (OpenAiEmbedder).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace steward::memory {

// One batch of vectors, in the order of the texts asked for.
struct Embeddings {
  std::string model;  // the model that produced them, as recorded in embedding_model
  int dimension = 0;
  std::vector<std::vector<float>> vectors;
};

// Thread-safe: Embed may be called from several threads at once.
class Embedder {
 public:
  virtual ~Embedder() = default;
  // The model name recorded with every vector; changing it re-embeds everything.
  [[nodiscard]] virtual std::string model() const = 0;
  // The vector length this embedder promises (0: unknown until the first call).
  [[nodiscard]] virtual int dimension() const = 0;
  // Vectors for `texts` (L2-normalised by the implementation). Errors: kUnavailable (worker or
  // server down), kDeadlineExceeded, kInvalidArgument (rejected input), kInternal (wrong shape).
  [[nodiscard]] virtual Result<Embeddings> Embed(const std::vector<std::string>& texts) = 0;
};

// Adapts a callable (e.g. a lambda around runners::WorkerPool::Embed) to Embedder; checks the
// shape of what it returns (one vector per text, all of `dimension` when that is known).
class FunctionEmbedder final : public Embedder {
 public:
  using Fn = std::function<Result<Embeddings>(const std::vector<std::string>&)>;
  FunctionEmbedder(std::string model, int dimension, Fn fn)
      : model_(std::move(model)), dimension_(dimension), fn_(std::move(fn)) {}
  [[nodiscard]] std::string model() const override { return model_; }
  [[nodiscard]] int dimension() const override { return dimension_; }
  [[nodiscard]] Result<Embeddings> Embed(const std::vector<std::string>& texts) override;

 private:
  std::string model_;
  int dimension_;
  Fn fn_;
};

// Settings for an OpenAI-compatible embeddings endpoint (OpenAI, Ollama, vLLM, llama.cpp).
struct OpenAiEmbedderOptions {
  std::string base_url;  // e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1
  std::string api_key;   // may be empty (Ollama)
  std::string model;     // e.g. text-embedding-3-small, nomic-embed-text
  int dimension = 0;     // 0: take it from the first response; >0: sent as `dimensions` if the
                         // model is an OpenAI text-embedding-3 model, and checked on every reply
  int timeout_ms = 60'000;
};

// POSTs {model, input:[...]} to base_url + "/embeddings". Errors name the URL, never the key.
[[nodiscard]] std::unique_ptr<Embedder> MakeOpenAiEmbedder(OpenAiEmbedderOptions options);

// Scales `v` to unit length (no-op for the zero vector), so inner product = cosine similarity.
void Normalize(std::vector<float>& v);

}  // namespace steward::memory
