#pragma once
// An in-memory MCP server behind the McpTransport interface, for unit tests of McpClient and
// McpServerProvider. It answers synchronously inside Send (as the HTTP transport does) by
// calling a handler the test supplies; the test can also push raw texts or close the transport
// from any thread, as a real server would.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/detail/mcp_transport.hpp"

namespace steward::tools::testing {

// What the fake server is; shared between the test and every transport it hands out.
class FakeMcpServer final {
 public:
  using Json = nlohmann::json;
  // Answers one message from the client: return the texts to send back (each one JSON text),
  // possibly none (a notification, or a request left unanswered).
  using Handler = std::function<std::vector<std::string>(const Json& message)>;

  void SetHandler(Handler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }
  void FailOpen(std::string why) {
    std::lock_guard lock(mu_);
    open_error_ = std::move(why);
  }

  // Every message the client sent, oldest first.
  std::vector<Json> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  // The messages whose method is `method`.
  std::vector<Json> sent(const std::string& method) const {
    std::vector<Json> out;
    for (const auto& m : sent()) {
      if (m.value("method", "") == method) out.push_back(m);
    }
    return out;
  }
  int opens() const { return opens_.load(); }

  // Pushes a text to the client of the latest transport, as if the server wrote it.
  void Push(const std::string& text) {
    if (auto sink = CurrentSink()) sink->OnText(text);
  }
  void PushOversized(size_t size, const std::string& head, const std::string& tail) {
    if (auto sink = CurrentSink()) sink->OnOversized(size, head, tail);
  }
  // Ends the latest transport, as a crashed server would.
  void Crash(const std::string& why) {
    if (auto sink = CurrentSink()) {
      {
        std::lock_guard lock(mu_);
        sink_ = nullptr;
      }
      sink->OnClosed(MakeError(ErrorCode::kUnavailable, why));
    }
  }

  std::unique_ptr<detail::McpTransport> MakeTransport();

  // Standard answers, for handlers.
  static std::string Result(const Json& id, Json result) {
    return Json({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}).dump();
  }
  static std::string InitializeResult(const Json& id, const std::string& version = "2025-11-25") {
    return Result(id, {{"protocolVersion", version},
                       {"capabilities", {{"tools", {{"listChanged", true}}}}},
                       {"serverInfo", {{"name", "fake"}, {"version", "1"}}}});
  }

 private:
  friend class FakeMcpTransport;
  detail::McpTransportSink* CurrentSink() {
    std::lock_guard lock(mu_);
    return sink_;
  }

  mutable std::mutex mu_;
  Handler handler_;
  std::string open_error_;
  std::vector<Json> sent_;
  detail::McpTransportSink* sink_ = nullptr;
  std::atomic<int> opens_{0};
};

class FakeMcpTransport final : public detail::McpTransport {
 public:
  explicit FakeMcpTransport(FakeMcpServer& server) : server_(server) {}

  Status Open(detail::McpTransportSink& sink) override {
    ++server_.opens_;
    std::lock_guard lock(server_.mu_);
    if (!server_.open_error_.empty()) return MakeError(ErrorCode::kUnavailable, server_.open_error_);
    server_.sink_ = &sink;
    sink_ = &sink;
    return Status::Ok();
  }

  Status Send(const std::string& message, std::chrono::steady_clock::time_point) override {
    FakeMcpServer::Handler handler;
    {
      std::lock_guard lock(server_.mu_);
      if (closed_ || server_.sink_ != sink_) {
        return MakeError(ErrorCode::kUnavailable, "the fake server is gone");
      }
      server_.sent_.push_back(nlohmann::json::parse(message));
      handler = server_.handler_;
    }
    if (!handler) return Status::Ok();
    for (const auto& text : handler(nlohmann::json::parse(message))) sink_->OnText(text);
    return Status::Ok();
  }

  void Close() override {
    std::lock_guard lock(server_.mu_);
    closed_ = true;
    if (server_.sink_ == sink_) server_.sink_ = nullptr;
  }

 private:
  FakeMcpServer& server_;
  detail::McpTransportSink* sink_ = nullptr;
  bool closed_ = false;
};

inline std::unique_ptr<detail::McpTransport> FakeMcpServer::MakeTransport() {
  return std::make_unique<FakeMcpTransport>(*this);
}

}  // namespace steward::tools::testing
