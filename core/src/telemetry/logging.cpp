#include "telemetry/logging.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <regex>
#include <shared_mutex>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "telemetry/tracer.hpp"

namespace steward::telemetry {

namespace {

std::shared_mutex g_secrets_mu;
std::vector<std::string> g_secrets;  // GUARDED_BY(g_secrets_mu)

constexpr std::string_view kRedacted = "[REDACTED]";
constexpr size_t kMinSecretLength = 6;

// A sink that formats, redacts, and writes one line to stderr.
class RedactingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RedactingStderrSink(LogFormat format) : format_(format) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string text = Redact(std::string_view(msg.payload.data(), msg.payload.size()));
    std::string line;
    if (format_ == LogFormat::kJson) {
      const auto micros =
          std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
      nlohmann::json j = {{"ts", static_cast<double>(micros) / 1e6},
                          {"level", spdlog::level::to_string_view(msg.level).data()},
                          {"msg", text},
                          {"thread", msg.thread_id}};
      // Lines logged inside a span (a model or tool call) say which trace they belong to.
      if (const SpanContext span = CurrentContext(); span.valid()) {
        j["trace_id"] = span.trace_id;
        j["span_id"] = span.span_id;
      }
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
      spdlog::memory_buf_t formatted;
      spdlog::details::log_msg copy = msg;
      copy.payload = text;
      formatter_->format(copy, formatted);
      line.assign(formatted.data(), formatted.size());
    }
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  LogFormat format_;
};

}  // namespace

void SetupLogging(LogFormat format, std::string_view level) {
  auto sink = std::make_shared<RedactingStderrSink>(format);
  auto logger = std::make_shared<spdlog::logger>("steward", sink);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
}

void RegisterSecret(std::string secret) {
  if (secret.size() < kMinSecretLength) return;
  std::unique_lock lock(g_secrets_mu);
  if (std::find(g_secrets.begin(), g_secrets.end(), secret) == g_secrets.end()) g_secrets.push_back(std::move(secret));
}

bool RedactText(std::string& text) {
  bool changed = false;
  {
    std::shared_lock lock(g_secrets_mu);
    for (const std::string& secret : g_secrets) {
      for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + kRedacted.size())) {
        text.replace(pos, secret.size(), kRedacted);
        changed = true;
      }
    }
  }
  // Tokens the core did not mint (a client's header echoed in an error) are caught by shape.
  static const std::regex kBearer(R"((Bearer\s+)[A-Za-z0-9._~+/=-]{6,})", std::regex::icase);
  if (text.find("earer") != std::string::npos) {
    std::string replaced = std::regex_replace(text, kBearer, "$1[REDACTED]");
    if (replaced != text) {
      text = std::move(replaced);
      changed = true;
    }
  }
  return changed;
}

std::string Redact(std::string_view text) {
  std::string out(text);
  (void)RedactText(out);
  return out;
}

}  // namespace steward::telemetry
