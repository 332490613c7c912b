#include "telemetry/otlp_exporter.hpp"

#include <curl/curl.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "store/redact_url.hpp"
#include "telemetry/otlp_json.hpp"
#include "telemetry/otlp_protobuf.hpp"

namespace steward::telemetry {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxResponseBytes = 1024;

size_t KeepSome(char* data, size_t size, size_t nmemb, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t n = size * nmemb;
  if (out->size() < kMaxResponseBytes) out->append(data, std::min(n, kMaxResponseBytes - out->size()));
  return n;
}

// A rejection's body for the log: a protobuf receiver answers with a binary google.rpc.Status.
std::string Printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return text;
}

std::string Encode(const std::vector<Span>& batch, const OtlpExporterOptions& options) {
  if (options.protocol == OtlpProtocol::kHttpJson) {
    return EncodeOtlpTraces(batch, options.resource).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return EncodeOtlpTracesProtobuf(batch, options.resource);
}

}  // namespace

std::string OtlpTracesUrl(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string suffix = "/v1/traces";
  if (endpoint.size() >= suffix.size() && endpoint.compare(endpoint.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return endpoint;
  }
  return endpoint + suffix;
}

std::string_view OtlpContentType(OtlpProtocol protocol) {
  return protocol == OtlpProtocol::kHttpJson ? "application/json" : "application/x-protobuf";
}

OtlpHttpExporter::OtlpHttpExporter(OtlpExporterOptions options)
    : options_(std::move(options)), url_(OtlpTracesUrl(options_.endpoint)) {
  thread_ = std::thread([this] { Run(); });
}

OtlpHttpExporter::~OtlpHttpExporter() { Shutdown(std::chrono::milliseconds(0)); }

Status OtlpHttpExporter::Export(const std::vector<Span>& batch) {
  if (batch.empty()) return Status::Ok();
  Batch item{Encode(batch, options_), batch.size()};
  std::lock_guard lock(mu_);
  if (stopping_) {
    stats_.dropped_spans += item.spans;
    return Status::Ok();
  }
  if (queue_.size() >= options_.max_queued_batches) {
    stats_.dropped_spans += queue_.front().spans;
    queue_.pop_front();
  }
  queue_.push_back(std::move(item));
  cv_.notify_one();
  return Status::Ok();
}

void OtlpHttpExporter::Shutdown(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      deadline_ = Clock::now() + timeout;
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

OtlpExporterStats OtlpHttpExporter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void OtlpHttpExporter::Run() {
  std::unique_lock lock(mu_);
  Clock::time_point last_warned{};
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() || (stopping_ && Clock::now() >= deadline_)) break;
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    auto backoff = options_.initial_backoff;
    Outcome outcome = Outcome::kRetry;
    std::string detail;
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
      lock.unlock();
      outcome = Post(batch.body, detail);
      lock.lock();
      if (outcome != Outcome::kRetry) break;
      ++stats_.failed_requests;
      if (attempt == options_.max_attempts) break;
      // Back off, but give up on this batch once shutdown's deadline would pass.
      const auto wake = Clock::now() + backoff;
      if (stopping_ && wake >= deadline_) break;
      cv_.wait_until(lock, stopping_ ? std::min(wake, deadline_) : wake,
                     [&] { return stopping_ && Clock::now() >= deadline_; });
      if (stopping_ && Clock::now() >= deadline_) break;
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    if (outcome == Outcome::kSent) {
      stats_.sent_spans += batch.spans;
      continue;
    }
    if (outcome == Outcome::kReject) ++stats_.failed_requests;
    stats_.dropped_spans += batch.spans;
    if (Clock::now() - last_warned > std::chrono::seconds(60)) {
      last_warned = Clock::now();
      spdlog::warn("OTLP export to {} dropped {} spans: {}", store::RedactUrl(url_), batch.spans, detail);
    }
  }
  for (const Batch& b : queue_) stats_.dropped_spans += b.spans;
  queue_.clear();
}

OtlpHttpExporter::Outcome OtlpHttpExporter::Post(const std::string& body, std::string& detail) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    detail = "could not create an HTTP client";
    return Outcome::kRetry;
  }
  const std::string content_type = "Content-Type: " + std::string(OtlpContentType(options_.protocol));
  curl_slist* headers = curl_slist_append(nullptr, content_type.c_str());
  for (const auto& [name, value] : options_.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  std::string response;
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, KeepSome);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    detail = curl_easy_strerror(rc);
    return Outcome::kRetry;
  }
  if (status >= 200 && status < 300) return Outcome::kSent;
  detail = "HTTP " + std::to_string(status) + (response.empty() ? "" : ": " + Printable(response.substr(0, 200)));
  return status == 429 || status == 502 || status == 503 || status == 504 ? Outcome::kRetry : Outcome::kReject;
}

}  // namespace steward::telemetry
