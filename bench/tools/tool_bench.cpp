// tool_bench: what the tool hub adds to a tool call, against a trivial in-process tool, so that
// everything measured is Steward's own cost. Issue #3 asks for: hub-added latency <= 100 µs p99
// and >= 10k calls/s.
//
// The hub under test is the real one, linked in: ToolRegistry (name resolution, schema check,
// risk policy, events, span, metrics) and, for /mcp, HttpServer + the /mcp route + McpEndpoint
// (auth, JSON-RPC, session), wired as app/server.cpp wires them. The tool is a provider in this
// process whose call copies its argument into a one-block text result (~0.1 µs).
//
//   provider alone        provider->Call, the baseline the others subtract
//   registry              ToolRegistry::Call with the risk policy, owner context (no run events)
//   registry, run         as a worker's call: allowed-tool globs, events into a LiveRun drained
//                         by another thread (as the SSE pump does)
//   /mcp                  tools/call over HTTP/1.1 keep-alive on loopback with a run's token;
//                         "added by the hub" = the server's time from reading the request's last
//                         bytes to starting to send the answer (recv() and send() on its socket
//                         are interposed, bench/gateway/bench_support) − the provider alone; also
//                         from the client's side: round trip − a loopback TCP round trip of the
//                         same sizes (raw sockets, no HTTP) − the provider, which carries the
//                         machine's wake-up noise
//   calls/s               closed loops: registry calls on 2 threads; /mcp calls on 1, 2 and 4
//                         keep-alive connections (server and clients share the machine)
//
// Each run is repeated with the process-wide tracer installed (spans recorded, batched and handed
// to an exporter that discards them), since a deployed core traces every call.
// No database: the /mcp route needs none, and approvals are not exercised (a low-tier tool).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "../gateway/bench_support.hpp"
#include "engine/run_registry.hpp"
#include "gateway/api.hpp"
#include "gateway/auth.hpp"
#include "gateway/http_server.hpp"
#include "telemetry/tracer.hpp"
#include "tools/mcp_endpoint.hpp"
#include "tools/risk_policy.hpp"
#include "tools/tool_registry.hpp"

#ifndef STEWARD_BENCH_BUILD_TYPE
#define STEWARD_BENCH_BUILD_TYPE "unknown"
#endif

namespace steward::bench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kOwnerToken[] = "tool-bench-owner-token";
constexpr double kTargetP99Us = 100;
constexpr double kTargetCallsPerSecond = 10000;

// Row with the p99.9 too: the tail is what the target is about.
void TailRow(const std::string& label, Samples& s) {
  std::printf("  %-44s p50 %8.2f µs   p99 %8.2f µs   p99.9 %8.2f µs   (n=%zu)\n", label.c_str(), s.Percentile(0.5),
              s.Percentile(0.99), s.Percentile(0.999), s.size());
}

// ---- the tool ----

// Server "bench": `echo` plus `filler` tools with schemas the size of a real MCP server's, so the
// registry's per-call lookup sees a realistic tool list.
// `find_one`: override FindTool as McpServerProvider does (share the ToolInfo it holds, no copy);
// false keeps ToolProvider's default (copy the whole list and scan it: how every call resolved
// its tool before FindTool existed).
class EchoProvider final : public tools::ToolProvider {
 public:
  EchoProvider(int count, bool find_one) : find_one_(find_one) {
    std::vector<tools::ToolInfo> tools;
    for (int i = 0; i < count; ++i) {
      tools::ToolInfo info;
      info.name = i == 0 ? "bench.echo" : "bench.filler_" + std::to_string(i);
      info.server = "bench";
      info.description = "Returns its text argument unchanged. A tool for measuring the hub, with a description "
                         "about as long as a real one, saying when to use it and what it returns.";
      info.input_schema = {{"type", "object"},
                           {"properties",
                            {{"text", {{"type", "string"}, {"maxLength", 10000}, {"description", "What to echo."}}},
                             {"repeat", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}, {"description", "How many times."}}},
                             {"format", {{"type", "string"}, {"enum", {"plain", "json"}}, {"description", "Output format."}}}}},
                           {"required", {"text"}},
                           {"additionalProperties", false}};
      info.risk_tier = "low";
      tools.push_back(std::move(info));
    }
    tools_ = std::make_shared<const std::vector<tools::ToolInfo>>(std::move(tools));
  }
  std::string_view server() const override { return "bench"; }
  std::vector<tools::ToolInfo> ListTools() const override { return *tools_; }
  std::shared_ptr<const tools::ToolInfo> FindTool(std::string_view name) const override {
    if (!find_one_) return ToolProvider::FindTool(name);
    for (const auto& info : *tools_) {
      if (info.name == name) return std::shared_ptr<const tools::ToolInfo>(tools_, &info);
    }
    return nullptr;
  }
  Result<tools::ToolCallResult> Call(std::string_view tool, const json& args, const tools::CallContext&) override {
    return tools::ToolCallResult::Text(args.value("text", ""));
  }

 private:
  std::shared_ptr<const std::vector<tools::ToolInfo>> tools_;
  const bool find_one_;
};

class DiscardExporter final : public telemetry::SpanExporter {
 public:
  std::string_view name() const override { return "discard"; }
  Status Export(const std::vector<telemetry::Span>&) override { return Status::Ok(); }
};

// ---- a minimal HTTP/1.1 client (keep-alive, Content-Length bodies) ----

int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

struct Response {
  int status = -1;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class Client final {
 public:
  explicit Client(uint16_t port) : fd_(Connect(port)) {}
  ~Client() { ::close(fd_); }
  [[nodiscard]] int fd() const { return fd_; }

  Response Post(const std::string& path, const std::string& body, const std::vector<std::string>& headers) {
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Accept: application/json, text/event-stream\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n";
    for (const auto& h : headers) req += h + "\r\n";
    req += "\r\n" + body;
    Response r;
    if (!SendAll(fd_, req)) return r;
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    const std::string head = buf_.substr(0, head_end);
    r.status = std::atoi(head.c_str() + head.find(' ') + 1);
    size_t length = 0;
    for (size_t pos = head.find("\r\n"); pos != std::string::npos;) {
      const size_t next = head.find("\r\n", pos + 2);
      const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "content-length") length = std::stoul(value);
        r.headers[name] = value;
      }
      pos = next;
    }
    while (buf_.size() < head_end + 4 + length) {
      if (!Fill()) return Response{};
    }
    r.body = buf_.substr(head_end + 4, length);
    buf_.erase(0, head_end + 4 + length);
    return r;
  }

 private:
  bool Fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string buf_;
};

// An MCP session on /mcp: initialize, then tools/call of bench.echo.
class McpSession final {
 public:
  McpSession(uint16_t port, const std::string& token) : client_(port), auth_("Authorization: Bearer " + token) {
    const Response init = client_.Post(
        "/mcp",
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"tool_bench","version":"1"}}})",
        {auth_});
    if (init.status != 200 || !init.headers.count("mcp-session-id")) {
      std::fprintf(stderr, "initialize failed: %d %s\n", init.status, init.body.c_str());
      std::exit(1);
    }
    headers_ = {auth_, "Mcp-Session-Id: " + init.headers.at("mcp-session-id"), "MCP-Protocol-Version: 2025-06-18"};
    (void)client_.Post("/mcp", R"({"jsonrpc":"2.0","method":"notifications/initialized"})", headers_);
  }

  // One tools/call; aborts on anything but a successful result.
  void Call(int id) {
    const std::string body = R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                             R"(,"method":"tools/call","params":{"name":"bench.echo","arguments":{"text":"hello from the bench"}}})";
    const Response r = client_.Post("/mcp", body, headers_);
    if (r.status != 200 || r.body.find("\"isError\":false") == std::string::npos) {
      std::fprintf(stderr, "tools/call failed: %d %s\n", r.status, r.body.c_str());
      std::exit(1);
    }
    last_bytes_ = {body.size(), r.body.size()};
  }
  [[nodiscard]] std::pair<size_t, size_t> last_bytes() const { return last_bytes_; }
  [[nodiscard]] int fd() const { return client_.fd(); }

 private:
  Client client_;
  std::string auth_;
  std::vector<std::string> headers_;
  std::pair<size_t, size_t> last_bytes_{0, 0};
};

// A blocking TCP server thread that answers every `request_bytes` read with `response_bytes`:
// the cost of the loopback round trip alone.
Samples LoopbackBaseline(size_t request_bytes, size_t response_bytes, int rounds) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listener, 1);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::thread server([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string in(request_bytes, '\0'), out(response_bytes, 'x');
    for (int i = 0; i < rounds; ++i) {
      size_t got = 0;
      while (got < request_bytes) {
        const ssize_t n = ::recv(fd, in.data() + got, request_bytes - got, 0);
        if (n <= 0) return;
        got += static_cast<size_t>(n);
      }
      SendAll(fd, out);
    }
    ::close(fd);
  });
  const int fd = Connect(ntohs(addr.sin_port));
  std::string req(request_bytes, 'r'), in(response_bytes, '\0');
  Samples s;
  for (int i = 0; i < rounds; ++i) {
    const int64_t t0 = NowNs();
    SendAll(fd, req);
    size_t got = 0;
    while (got < response_bytes) got += static_cast<size_t>(::recv(fd, in.data() + got, response_bytes - got, 0));
    if (i >= rounds / 10) s.AddNs(NowNs() - t0);
  }
  server.join();
  ::close(fd);
  ::close(listener);
  return s;
}

// ---- the runs ----

struct Options {
  int calls = 20000;
  int tools = 30;
  double seconds = 3;
};

struct Hub {
  Hub(int tools, bool find_one)
      : provider(std::make_shared<EchoProvider>(tools, find_one)), policy(tools::RiskPolicyConfig{}) {
    if (Status s = registry.Register(provider); !s.ok()) std::abort();
    registry.SetRiskPolicy(&policy, nullptr);
  }
  std::shared_ptr<EchoProvider> provider;
  tools::RiskPolicy policy;
  tools::ToolRegistry registry;
};

tools::CallContext OwnerContext() {
  tools::CallContext ctx;
  ctx.principal = "owner";
  ctx.allowed_tools = {"*"};
  return ctx;
}

template <class F>
Samples Time(int calls, F&& call) {
  const int warmup = calls / 10;
  Samples s;
  for (int i = 0; i < calls + warmup; ++i) {
    const int64_t t0 = NowNs();
    call(i);
    const int64_t t1 = NowNs();
    if (i >= warmup) s.AddNs(t1 - t0);
  }
  return s;
}

// Closed loops on `threads` threads for `seconds`; calls per second in total.
template <class MakeCaller>
double Throughput(int threads, double seconds, MakeCaller make_caller) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> total{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto call = make_caller(t);
      int64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) call(static_cast<int>(n++));
      total += n;
    });
  }
  const int64_t t0 = NowNs();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  return static_cast<double>(total.load()) / (static_cast<double>(NowNs() - t0) / 1e9);
}

void Run(const Options& options, bool traced) {
  std::shared_ptr<telemetry::Tracer> tracer;
  if (traced) {
    std::vector<std::unique_ptr<telemetry::SpanExporter>> exporters;
    exporters.push_back(std::make_unique<DiscardExporter>());
    tracer = telemetry::Tracer::Create(telemetry::TracerOptions{}, std::move(exporters));
  }
  telemetry::InstallTracer(tracer);
  std::printf("\n== tracing %s (%s)\n", traced ? "on: spans recorded and exported to a discarding exporter" : "off",
              traced ? "as deployed" : "inert spans");

  Hub hub(options.tools, true);
  const json args = {{"text", "hello from the bench"}};
  const tools::CallContext owner = OwnerContext();

  Samples provider = Time(options.calls, [&](int) { (void)hub.provider->Call("echo", args, owner); });
  TailRow("provider alone", provider);
  Samples registry = Time(options.calls, [&](int) {
    auto r = hub.registry.Call("bench.echo", args, owner);
    if (!r.ok() || r->is_error) std::abort();
  });
  TailRow("ToolRegistry::Call (owner)", registry);

  // A run as a worker's /mcp calls see it: events into its LiveRun, drained by another thread.
  engine::RunRegistry runs;
  engine::RunIdentity identity;
  identity.run_id = "00000000-0000-4000-8000-000000000001";
  identity.tools = {"bench.*"};
  std::shared_ptr<engine::LiveRun> run = runs.Add(identity);
  std::atomic<bool> draining{true};
  std::thread drain([&] {
    while (draining.load()) (void)run->Next(std::chrono::milliseconds(50));
  });
  tools::CallContext run_ctx;
  run_ctx.principal = "run";
  run_ctx.run_id = run->id();
  run_ctx.allowed_tools = run->identity().tools;
  run_ctx.emit = [run](std::string_view type, json data) { run->Emit(std::string(type), std::move(data)); };
  Samples registry_run = Time(options.calls, [&](int) { (void)hub.registry.Call("bench.echo", args, run_ctx); });
  TailRow("ToolRegistry::Call (run: globs, 3 events)", registry_run);
  {
    Hub copying(options.tools, false);
    Samples old = Time(options.calls, [&](int) { (void)copying.registry.Call("bench.echo", args, run_ctx); });
    TailRow("  same, provider copying its list per call", old);
  }

  // /mcp over HTTP with the run's token.
  gateway::Authenticator auth(kOwnerToken, runs);
  tools::McpEndpoint endpoint(hub.registry);
  gateway::ApiContext api;
  api.auth = &auth;
  api.runs = &runs;
  api.tools = &hub.registry;
  api.mcp = &endpoint;
  api.ready = true;
  gateway::HttpServer server;
  gateway::RegisterMcpRoutes(server, api);
  auto port = server.Start(gateway::HttpServerOptions{"127.0.0.1", 0});
  if (!port.ok()) {
    std::fprintf(stderr, "%s\n", port.error().ToString().c_str());
    std::exit(1);
  }
  McpSession session(*port, run->identity().token);
  // The server's side of the connection: when the request's last bytes were read, and when the
  // answer's first send() began. Their difference is the hub's time for the call, with neither
  // the client's nor the server's wake-up in it (on this VM a loopback round trip alone takes
  // 13-60 µs depending on load and idle states, which made round trip minus baseline unsteady).
  const int server_fd = FindPeerFd(session.fd());
  SendLog sends(static_cast<size_t>(options.calls) * 2 + 64);
  if (server_fd >= 0) TraceSends(server_fd, &sends);
  Samples server_side;
  Samples mcp = Time(options.calls, [&](int i) {
    const size_t before = sends.size();
    session.Call(i);
    if (i >= options.calls / 10 && server_fd >= 0 && sends.size() > before) {  // as Time: no warm-up
      const SendRecord& answer = sends.at(before);
      if (answer.received_ns > 0) server_side.AddNs(answer.entered_ns - answer.received_ns);
    }
  });
  if (server_fd >= 0) TraceSends(server_fd, nullptr);
  const auto [req_bytes, res_bytes] = session.last_bytes();
  Samples tcp = LoopbackBaseline(req_bytes + 300, res_bytes + 150, options.calls);  // + HTTP headers
  TailRow("/mcp tools/call round trip (run token)", mcp);
  TailRow("loopback TCP round trip, same sizes (baseline)", tcp);
  TailRow("/mcp request read → answer sent, in the server", server_side);
  if (server_side.size() == 0) std::printf("  (the server's socket could not be traced: no server-side row)\n");
  std::printf("  %-44s p50 %8.2f µs   p99 %8.2f µs   (server side − provider; target p99 <= %.0f µs)\n",
              "=> added by the hub through /mcp", server_side.Percentile(0.5) - provider.Percentile(0.5),
              server_side.Percentile(0.99) - provider.Percentile(0.99), kTargetP99Us);
  const double added50 = mcp.Percentile(0.5) - tcp.Percentile(0.5) - provider.Percentile(0.5);
  const double added99 = mcp.Percentile(0.99) - tcp.Percentile(0.99) - provider.Percentile(0.99);
  std::printf("  %-44s p50 %8.2f µs   p99 %8.2f µs   (round trip − TCP − provider, by percentile)\n",
              "   the same, from the client's side", added50, added99);
  std::printf("  %-44s p50 %8.2f µs   p99 %8.2f µs   (target p99 <= %.0f µs)\n", "=> added by ToolRegistry::Call (run)",
              registry_run.Percentile(0.5) - provider.Percentile(0.5),
              registry_run.Percentile(0.99) - provider.Percentile(0.99), kTargetP99Us);

  const double direct2 = Throughput(2, options.seconds, [&](int) {
    return [&](int) { (void)hub.registry.Call("bench.echo", args, run_ctx); };
  });
  std::printf("  %-44s %9.0f calls/s\n", "ToolRegistry::Call, 2 threads", direct2);
  for (int connections : {1, 2, 4}) {
    const double rate = Throughput(connections, options.seconds, [&](int) {
      auto s = std::make_shared<McpSession>(*port, run->identity().token);
      return [s](int i) { s->Call(i); };
    });
    std::printf("  %-44s %9.0f calls/s   (target >= %.0f)\n",
                ("/mcp tools/call, " + std::to_string(connections) + " connection(s)").c_str(), rate,
                kTargetCallsPerSecond);
  }
  server.Stop();
  draining = false;
  drain.join();
  runs.Remove(run->id());
  telemetry::InstallTracer(nullptr);
  if (tracer) tracer->Shutdown();
}

}  // namespace
}  // namespace steward::bench

int main(int argc, char** argv) {
  using steward::bench::Options;
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      const size_t n = std::strlen(name);
      return arg.compare(0, n, name) == 0 && arg.size() > n && arg[n] == '=' ? arg.c_str() + n + 1 : nullptr;
    };
    if (const char* v = value("--calls")) options.calls = std::atoi(v);
    else if (const char* v = value("--tools")) options.tools = std::max(1, std::atoi(v));
    else if (const char* v = value("--seconds")) options.seconds = std::atof(v);
    else {
      std::printf("usage: tool_bench [--calls=N (20000)] [--tools=N tools on the bench server (30)] "
                  "[--seconds=S per throughput run (3)]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  // As deployed (`steward serve` logs at info, and the registry logs each policy verdict), but to
  // /dev/null so the terminal is not the bottleneck.
  spdlog::set_default_logger(spdlog::basic_logger_mt("bench", "/dev/null"));
  spdlog::set_level(spdlog::level::info);
  std::printf("tool_bench: build %s, %u CPUs, load average %s, %d calls per latency run, %d tools on the server\n",
              STEWARD_BENCH_BUILD_TYPE, std::thread::hardware_concurrency(),
              steward::bench::LoadAverage().c_str(), options.calls, options.tools);
  steward::bench::Run(options, false);
  steward::bench::Run(options, true);
  std::printf("\nload average after: %s\n", steward::bench::LoadAverage().c_str());
  return 0;
}
