#include "memory/embedder.hpp"

#include <cmath>
#include <mutex>

#include <nlohmann/json.hpp>

#include "models/detail/http_stream.hpp"

namespace steward::memory {

namespace {

using nlohmann::json;

// Checks one reply against what was asked and promised, and normalises the vectors.
Status CheckShape(Embeddings& out, size_t texts, int promised_dimension, const std::string& who) {
  if (out.vectors.size() != texts) {
    return MakeError(ErrorCode::kInternal,
                     who + " returned " + std::to_string(out.vectors.size()) + " vectors for " +
                         std::to_string(texts) + " texts");
  }
  const size_t dim = out.vectors.empty() ? static_cast<size_t>(std::max(out.dimension, 0))
                                         : out.vectors.front().size();
  for (auto& v : out.vectors) {
    if (v.size() != dim || dim == 0) {
      return MakeError(ErrorCode::kInternal, who + " returned vectors of different or zero lengths");
    }
    for (float x : v) {
      if (!std::isfinite(x)) return MakeError(ErrorCode::kInternal, who + " returned a non-finite number");
    }
    Normalize(v);
  }
  if (promised_dimension > 0 && dim != 0 && static_cast<int>(dim) != promised_dimension) {
    return MakeError(ErrorCode::kConfig,
                     who + " returned " + std::to_string(dim) + "-dimensional vectors, but " +
                         std::to_string(promised_dimension) + " are configured",
                     "memory.embeddings.dimension");
  }
  if (dim != 0) out.dimension = static_cast<int>(dim);
  return Status::Ok();
}

class OpenAiEmbedder final : public Embedder {
 public:
  explicit OpenAiEmbedder(OpenAiEmbedderOptions options)
      : options_(std::move(options)), url_(models::detail::JoinUrl(options_.base_url, "/embeddings")) {}

  [[nodiscard]] std::string model() const override { return options_.model; }
  [[nodiscard]] int dimension() const override {
    std::lock_guard lock(mu_);
    return dimension_ > 0 ? dimension_ : options_.dimension;
  }

  Result<Embeddings> Embed(const std::vector<std::string>& texts) override {
    Embeddings out;
    out.model = options_.model;
    if (texts.empty()) return out;
    json body{{"model", options_.model}, {"input", texts}, {"encoding_format", "float"}};
    // Only OpenAI's text-embedding-3 models take `dimensions`; others reject unknown fields.
    if (options_.dimension > 0 && options_.model.rfind("text-embedding-3", 0) == 0) {
      body["dimensions"] = options_.dimension;
    }
    models::detail::ProviderCall call;
    call.provider = "memory.embeddings";
    call.secret = options_.api_key;
    call.post.url = url_;
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
    if (!options_.api_key.empty()) headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    call.post.headers = models::detail::MergeHeaders(headers, {});
    call.post.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    call.post.timeout = std::chrono::milliseconds(options_.timeout_ms);

    models::detail::ResponseHandlers handlers;
    handlers.on_event = [&](const models::detail::SseEvent&) -> Status {
      return models::detail::MakeProviderError(call, ErrorCode::kUnavailable,
                                               "answered with an event stream; expected one JSON body");
    };
    handlers.on_json = [&](std::string_view text) -> Status {
      const json reply = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (reply.is_discarded() || !reply.is_object() || !reply.contains("data") || !reply["data"].is_array()) {
        return models::detail::MakeProviderError(call, ErrorCode::kUnavailable,
                                                 "answered without a `data` array of embeddings");
      }
      out.vectors.assign(texts.size(), {});
      size_t position = 0;
      for (const auto& item : reply["data"]) {
        // `index` says which input a vector belongs to; servers that omit it answer in order.
        const size_t index = item.contains("index") && item["index"].is_number_unsigned()
                                 ? item["index"].get<size_t>()
                                 : position;
        ++position;
        if (index >= texts.size() || !item.contains("embedding") || !item["embedding"].is_array()) {
          return models::detail::MakeProviderError(call, ErrorCode::kUnavailable,
                                                   "answered with a malformed embedding entry");
        }
        std::vector<float>& v = out.vectors[index];
        v.reserve(item["embedding"].size());
        for (const auto& x : item["embedding"]) {
          if (!x.is_number()) {
            return models::detail::MakeProviderError(call, ErrorCode::kUnavailable,
                                                     "answered with a non-numeric embedding (base64 is not asked for)");
          }
          v.push_back(x.get<float>());
        }
      }
      if (position != texts.size()) {
        return models::detail::MakeProviderError(call, ErrorCode::kUnavailable,
                                                 "answered with " + std::to_string(position) + " embeddings for " +
                                                     std::to_string(texts.size()) + " inputs");
      }
      return Status::Ok();
    };
    STEWARD_RETURN_IF_ERROR(models::detail::RunProviderCall(client_, call, handlers));
    STEWARD_RETURN_IF_ERROR(CheckShape(out, texts.size(), options_.dimension, "the embeddings server at " + url_));
    std::lock_guard lock(mu_);
    dimension_ = out.dimension;
    return out;
  }

 private:
  const OpenAiEmbedderOptions options_;
  const std::string url_;
  models::detail::HttpStreamClient client_;
  mutable std::mutex mu_;
  int dimension_ = 0;  // learned from the first reply
};

}  // namespace

void Normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
}

Result<Embeddings> FunctionEmbedder::Embed(const std::vector<std::string>& texts) {
  if (texts.empty()) return Embeddings{model_, dimension_, {}};
  Result<Embeddings> got = fn_(texts);
  if (!got.ok()) return got;
  STEWARD_RETURN_IF_ERROR(CheckShape(*got, texts.size(), dimension_, "the embedder " + model_));
  got->model = model_;
  return got;
}

std::unique_ptr<Embedder> MakeOpenAiEmbedder(OpenAiEmbedderOptions options) {
  return std::make_unique<OpenAiEmbedder>(std::move(options));
}

}  // namespace steward::memory
