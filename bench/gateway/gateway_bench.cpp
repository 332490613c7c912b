// gateway_bench: what the core adds to a model stream on /v1/chat/completions, measured with a
// scripted model so that everything measured is Steward's own cost.
//
// The core under test is the real one, linked in: HttpServer + the /v1 routes + ModelGateway +
// ModelRouter + ScriptedProvider, wired as app/server.cpp wires them. The client is a raw socket
// in this process (keep-alive, TCP_NODELAY, blocking reads), so both share one clock.
//
//   first token   request sent → first content chunk received, minus the provider's own time
//                 from call to first chunk (called directly, in-process), split at the server's
//                 send() calls (traced, see bench_support.hpp).
//   per chunk     for content chunk k ≥ 2: client receive time − the instant chunk k was born
//                 (zero-delay model: the return of the server's send() of chunk k-1; paced
//                 model: the return of the provider's sleep before chunk k), minus the
//                 provider's own time between chunks. Split at the server's send() of chunk k
//                 into the core's CPU and the kernel + client wake-up.
//   streams       1 and 50 concurrent, zero-delay (50 saturate a small machine: a throughput
//                 test) and paced at kPacedDelayMs between chunks (what 50 users see).
//   requests/s    closed loop of non-streaming one-word completions, 1 and 50 connections,
//                 with the gateway recording nothing and, as deployed, a model_call row per call.
//
// Needs PostgreSQL only because the /v1 route asks ChatService whether `model` is an agent, and a
// ChatService needs a Database (and a WorkerPool: a stub shell worker is started). A scratch
// database is created and dropped; the recorded variant writes model_call rows into it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "bench_support.hpp"
#include "engine/chat_service.hpp"
#include "engine/run_registry.hpp"
#include "gateway/api.hpp"
#include "gateway/auth.hpp"
#include "gateway/http_server.hpp"
#include "models/model_gateway.hpp"
#include "models/model_router.hpp"
#include "models/scripted_provider.hpp"
#include "runners/worker_pool.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"

#ifndef STEWARD_BENCH_BUILD_TYPE
#define STEWARD_BENCH_BUILD_TYPE "unknown"
#endif

namespace steward::bench {
namespace {

namespace fs = std::filesystem;
using models::ChatChunk;
using models::ChatRequest;

constexpr char kToken[] = "gateway-bench-owner-token";
constexpr double kTargetP50Us = 30;
constexpr double kTargetP99Us = 100;
constexpr int kPacedDelayMs = 5;  // the paced model: 200 chunks/s, faster than most real models

struct Options {
  int chunks = 32;             // content chunks per streamed answer
  int requests = 2000;         // measured streams at one stream
  int streams = 50;            // concurrent streams in the second run
  int stream_requests = 100;   // measured streams per connection at `streams`
  int paced_requests = 20;     // measured paced streams at one stream
  bool spin = false;           // also measure one stream with a busy-polling client (needs a spare core)
  bool pin = false;            // server threads on CPU 0, client threads on CPU 1
  double rps_seconds = 3;      // per requests/s measurement
  std::string pg = "postgresql://postgres@127.0.0.1:5432/postgres";  // a server to make a scratch db on
};

// Best-effort removal of the scratch database and files, for Die (set once they exist).
std::function<void()> g_cleanup;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "gateway_bench: %s\n", what.c_str());
  if (auto cleanup = std::exchange(g_cleanup, nullptr)) cleanup();
  std::_Exit(1);  // not exit(): server and client threads are still running
}

template <class T>
T Must(Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what + ": " + result.error().ToString());
  return std::move(result).value();
}

void Must(const Status& status, const std::string& what) {
  if (!status.ok()) Die(what + ": " + status.error().ToString());
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  if (const char* pg = std::getenv("STEWARD_BENCH_PG"); pg && *pg) o.pg = pg;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    auto number = [&](int lo, int hi) {
      const int v = std::atoi(value.c_str());
      if (v < lo || v > hi) Die(key + " expects a number from " + std::to_string(lo) + " to " + std::to_string(hi));
      return v;
    };
    if (key == "--chunks") o.chunks = number(2, 10000);
    else if (key == "--requests") o.requests = number(1, 1000000);
    else if (key == "--streams") o.streams = number(1, 1000);
    else if (key == "--stream-requests") o.stream_requests = number(1, 1000000);
    else if (key == "--paced-requests") o.paced_requests = number(1, 100000);
    else if (key == "--rps-seconds") o.rps_seconds = number(1, 600);
    else if (key == "--pg") o.pg = value;
    else if (key == "--spin") o.spin = true;
    else if (key == "--pin") o.pin = true;
    else {
      std::printf(
          "usage: gateway_bench [--chunks=32] [--requests=2000] [--streams=50] [--stream-requests=100]\n"
          "                     [--paced-requests=20] [--rps-seconds=3] [--spin] [--pin]\n"
          "                     [--pg=postgresql://postgres@127.0.0.1:5432/postgres]\n"
          "  --spin: also stream with a busy-polling client (isolates the core when a core is free)\n"
          "  --pin: server threads on CPU 0, clients on CPU 1 (no wake-up onto the streaming server's CPU)\n"
          "  --pg (or STEWARD_BENCH_PG): a PostgreSQL server on which a scratch database is created and dropped\n");
      std::exit(key == "--help" || key == "-h" ? 0 : 2);
    }
  }
  return o;
}

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) Die("cannot pin to CPU " + std::to_string(cpu));
}

const char* Verdict(double value, double target) { return value <= target ? "met" : "NOT met"; }

// ---- the core under test ----

struct Core {
  gateway::ApiContext ctx;
  gateway::HttpServer http;
  uint16_t port = 0;
};

std::unique_ptr<Core> StartCore(gateway::Authenticator& auth, engine::ChatService& chat, engine::RunRegistry& runs,
                                models::ModelGateway& gateway) {
  auto core = std::make_unique<Core>();
  core->ctx.auth = &auth;
  core->ctx.chat = &chat;
  core->ctx.runs = &runs;
  core->ctx.models = &gateway;
  gateway::RegisterOpenAiRoutes(core->http, core->ctx);
  gateway::HttpServerOptions options;
  options.port = 0;
  core->port = Must(core->http.Start(options), "starting the HTTP server");
  core->ctx.ready.store(true, std::memory_order_release);
  return core;
}

// ---- measurements ----

// One-way loopback TCP latency between two blocking threads (half a 1-byte ping-pong): the floor
// any HTTP hop on this machine pays, shown for context.
Samples LoopbackOneWay(int rounds) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("cannot open a loopback listener");
  }
  std::thread echo([listener] {
    const int fd = accept(listener, nullptr, nullptr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char byte;
    while (recv(fd, &byte, 1, 0) == 1 && send(fd, &byte, 1, MSG_NOSIGNAL) == 1) {
    }
    close(fd);
  });
  RawClient client(ntohs(addr.sin_port));
  Samples one_way;
  char byte = 'x';
  for (int i = 0; i < rounds + 200; ++i) {
    const int64_t t0 = NowNs();
    if (send(client.fd(), &byte, 1, MSG_NOSIGNAL) != 1 || recv(client.fd(), &byte, 1, 0) != 1) Die("loopback echo failed");
    if (i >= 200) one_way.AddNs((NowNs() - t0) / 2);
  }
  shutdown(client.fd(), SHUT_RDWR);
  echo.join();
  close(listener);
  return one_way;
}

struct InProcess {
  Samples first;    // call → first chunk
  Samples between;  // chunk → next chunk
};

// Calls `call` (a provider or the gateway, no HTTP) and times its chunks as the sink sees them.
InProcess TimeInProcess(int calls, int chunks,
                        const std::function<void(const models::ChunkSink&, int64_t* start_ns)>& call) {
  InProcess out;
  std::vector<int64_t> at(static_cast<size_t>(chunks));
  for (int i = 0; i < calls + 200; ++i) {
    size_t n = 0;
    models::ChunkSink sink = [&](const ChatChunk&) {
      if (n < at.size()) at[n] = NowNs();
      ++n;
      return true;
    };
    int64_t start = 0;
    call(sink, &start);
    if (n != at.size()) Die("the scripted model streamed " + std::to_string(n) + " chunks, expected " + std::to_string(chunks));
    if (i < 200) continue;  // warm-up
    out.first.AddNs(at[0] - start);
    for (size_t k = 1; k < at.size(); ++k) out.between.AddNs(at[k] - at[k - 1]);
  }
  return out;
}

struct StreamRun {
  Samples first_token;  // request sent -> first content chunk received
  Samples ft_request;   //   request sent -> server's first send() (headers) entered
  Samples ft_writes;    //   headers send() entered -> chunk 1 send() entered
  Samples ft_delivery;  //   chunk 1 send() entered -> received
  Samples whole;        // request sent -> [DONE] received
  Samples hop;          // chunk born -> received (k >= 2)
  Samples core_cpu;     //   chunk born -> server's send() entered
  Samples delivery;     //   server's send() entered -> client's recv() returned
  Samples send_call;    // the server's send() itself (kernel TCP + waking the reader)
  Samples core_total;   // chunk born -> server's send() returned: the core's whole part
  size_t chunks = 0;
  size_t read_together = 0;  // chunks k >= 2 that one recv() returned with chunk k-1
  double wall_s = 0;

  void Merge(const StreamRun& o) {
    for (auto [mine, theirs] : {std::pair{&first_token, &o.first_token}, {&ft_request, &o.ft_request},
                                {&ft_writes, &o.ft_writes}, {&ft_delivery, &o.ft_delivery}, {&whole, &o.whole},
                                {&hop, &o.hop}, {&core_cpu, &o.core_cpu}, {&delivery, &o.delivery},
                                {&send_call, &o.send_call}, {&core_total, &o.core_total}}) {
      mine->Merge(*theirs);
    }
    chunks += o.chunks;
    read_together += o.read_together;
  }
};

// `streams` connections, each streaming `requests` answers of `model` one after another, all at
// once. `paced`: the model sleeps before each chunk after the first, so a chunk is born when
// that sleep returns, not when the previous chunk's send() returned. `spin`: busy-polling client.
StreamRun RunStreams(uint16_t port, const std::string& model, bool paced, bool spin, int streams, int requests,
                     int chunks) {
  const std::string request = PostJson("/v1/chat/completions", kToken,
                                       R"({"model":")" + model +
                                           R"(","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  // Server sends per answer: headers, role chunk, `chunks` content chunks, [DONE], terminator.
  const size_t sends_per_answer = static_cast<size_t>(chunks) + 4;
  const size_t events_per_answer = static_cast<size_t>(chunks) + 2;  // role, content..., [DONE]
  std::vector<StreamRun> parts(static_cast<size_t>(streams));
  std::barrier ready(streams + 1);
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      StreamRun& r = parts[static_cast<size_t>(s)];
      RawClient client(port);
      client.set_spin(spin);
      std::vector<RawClient::Chunk> got;
      int64_t sent = 0;
      for (int i = 0; i < (paced ? 2 : 20); ++i) {  // warm-up: connection thread, allocator, caches
        if (client.Stream(request, &sent, &got) != 200) Die("warm-up stream failed");
      }
      // Let the last warm-up's final send() return before tracing starts, so records line up.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const int server_fd = FindPeerFd(client.fd());
      if (server_fd < 0) Die("cannot find the server's end of a connection");
      SendLog log(static_cast<size_t>(requests) * sends_per_answer + 16);
      TraceSends(server_fd, &log);
      ready.arrive_and_wait();
      size_t base = 0;
      for (int i = 0; i < requests; ++i) {
        if (client.Stream(request, &sent, &got) != 200) Die("a stream failed");
        if (got.size() != events_per_answer || !got.back().done) {
          Die("expected " + std::to_string(events_per_answer) + " events ending in [DONE], got " +
              std::to_string(got.size()));
        }
        if (!log.WaitFor(base + sends_per_answer, 2'000'000'000) || log.size() != base + sends_per_answer ||
            log.overflowed()) {
          Die("the server's sends do not line up with the answer (" + std::to_string(log.size() - base) +
              " sends, expected " + std::to_string(sends_per_answer) + "): the timing would be wrong");
        }
        const SendRecord& headers = log.at(base);
        const SendRecord& first = log.at(base + 2);  // base+0 headers, base+1 role chunk
        r.first_token.AddNs(got[1].at_ns - sent);
        r.ft_request.AddNs(headers.entered_ns - sent);
        r.ft_writes.AddNs(first.entered_ns - headers.entered_ns);
        r.ft_delivery.AddNs(got[1].at_ns - first.entered_ns);
        r.whole.AddNs(got.back().at_ns - sent);
        for (size_t k = 2; k <= static_cast<size_t>(chunks); ++k) {
          const SendRecord& prev = log.at(base + k);     // content chunk k-1
          const SendRecord& cur = log.at(base + k + 1);  // content chunk k
          if (cur.bytes != ChunkWireBytes(got[k].size)) Die("a traced send does not match its chunk's size");
          const int64_t born = paced ? cur.slept_ns : prev.returned_ns;
          if (born < prev.returned_ns || born > cur.entered_ns) Die("a chunk's birth time is out of order");
          r.hop.AddNs(got[k].at_ns - born);
          r.core_cpu.AddNs(cur.entered_ns - born);
          r.delivery.AddNs(got[k].at_ns - cur.entered_ns);
          r.send_call.AddNs(cur.returned_ns - cur.entered_ns);
          r.core_total.AddNs(cur.returned_ns - born);
          if (got[k].read == got[k - 1].read) ++r.read_together;
        }
        r.chunks += static_cast<size_t>(chunks);
        base += sends_per_answer;
      }
      TraceSends(server_fd, nullptr);
    });
  }
  ready.arrive_and_wait();
  const int64_t t0 = NowNs();
  for (auto& t : threads) t.join();
  StreamRun all;
  all.wall_s = static_cast<double>(NowNs() - t0) / 1e9;
  for (auto& p : parts) all.Merge(p);
  return all;
}

struct RpsRun {
  Samples latency;
  size_t requests = 0;
  double wall_s = 0;
};

// `connections` clients in a closed loop of non-streaming one-word completions for `seconds`.
RpsRun RunRps(uint16_t port, int connections, double seconds) {
  const std::string request =
      PostJson("/v1/chat/completions", kToken, R"({"model":"small","messages":[{"role":"user","content":"hi"}]})");
  std::vector<RpsRun> parts(static_cast<size_t>(connections));
  std::barrier ready(connections + 1);
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      RpsRun& r = parts[static_cast<size_t>(c)];
      RawClient client(port);
      std::string body;
      for (int i = 0; i < 20; ++i) {
        if (client.RoundTrip(request, &body) != 200) Die("warm-up request failed: " + body);
      }
      if (body.find("\"pong\"") == std::string::npos) Die("unexpected answer: " + body);
      ready.arrive_and_wait();
      const int64_t deadline = NowNs() + static_cast<int64_t>(seconds * 1e9);
      while (NowNs() < deadline) {
        const int64_t t0 = NowNs();
        if (client.RoundTrip(request) != 200) Die("a request failed");
        r.latency.AddNs(NowNs() - t0);
        ++r.requests;
      }
    });
  }
  ready.arrive_and_wait();
  const int64_t t0 = NowNs();
  for (auto& t : threads) t.join();
  RpsRun all;
  all.wall_s = static_cast<double>(NowNs() - t0) / 1e9;
  for (auto& p : parts) {
    all.latency.Merge(p.latency);
    all.requests += p.requests;
  }
  return all;
}

void PrintStreams(const std::string& title, StreamRun& run, InProcess& direct, bool whole) {
  std::printf("\n%s: %zu answers, %zu content chunks, %.0f chunks/s\n", title.c_str(), run.first_token.size(),
              run.chunks, static_cast<double>(run.chunks) / run.wall_s);
  Row("first token, through the core", run.first_token);
  Row("  request -> server's first send() (read, parse, route)", run.ft_request);
  Row("  -> chunk 1 send() (headers, role chunk, chunk 1 JSON)", run.ft_writes);
  Row("  chunk 1 send() -> client recv()", run.ft_delivery);
  AddedRow("first token, added by the core (- direct provider)", run.first_token, direct.first);
  Row("per chunk, through the core (born -> received)", run.hop);
  Row("  born -> server send() (core CPU: JSON, SSE, sink)", run.core_cpu);
  Row("  server send() -> client recv() (kernel, wake-up)", run.delivery);
  Row("  (the server's send() call itself)", run.send_call);
  Row("  born -> server send() returned (the core's own part)", run.core_total);
  AddedRow("per chunk, added by the core (- direct provider)", run.hop, direct.between);
  std::printf("  %-56s %.1f%%\n", "chunks read in one recv() with the previous chunk",
              run.hop.size() ? 100.0 * static_cast<double>(run.read_together) / static_cast<double>(run.hop.size()) : 0);
  if (whole) Row("whole answer (request -> [DONE])", run.whole);
}

void PrintRps(const std::string& label, RpsRun& run) {
  std::printf("  %-34s %8.0f req/s   latency p50 %8.1f µs   p99 %8.1f µs   (n=%zu)\n", label.c_str(),
              static_cast<double>(run.requests) / run.wall_s, run.latency.Percentile(0.5),
              run.latency.Percentile(0.99), run.requests);
}

// ---- scratch database ----

std::string WithDatabase(const std::string& url, const std::string& name) {
  const size_t slash = url.rfind('/');
  if (slash == std::string::npos || slash < url.find("://") + 3) Die("--pg must look like postgresql://user@host:port/db");
  return url.substr(0, slash + 1) + name;
}

void AdminSql(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec0(sql);
  } catch (const std::exception& e) {
    Die("PostgreSQL at " + url + ": " + e.what() + " (set --pg or STEWARD_BENCH_PG to a server you may create databases on)");
  }
}

int Main(int argc, char** argv) {
  const Options opt = ParseArgs(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  const std::string load_at_start = LoadAverage();

  // Scripts: `replay` streams `chunks` 4-byte tokens; `small` answers one word (for requests/s).
  char dir_template[] = "/tmp/steward-gateway-bench-XXXXXX";
  if (!mkdtemp(dir_template)) Die("cannot create a temporary directory");
  const fs::path dir = dir_template;
  g_cleanup = [dir] {
    std::error_code ec;
    fs::remove_all(dir, ec);
  };
  {
    std::ofstream replay(dir / "replay.yaml");
    replay << "responses:\n  - chunks: [";
    for (int i = 0; i < opt.chunks; ++i) replay << (i ? ", " : "") << "\" tok\"";
    replay << "]\n";
    std::ofstream(dir / "small.yaml") << "responses:\n  - content: \"pong\"\n";
    std::ofstream paced(dir / "paced.yaml");
    paced << "responses:\n  - chunk_delay_ms: " << kPacedDelayMs << "\n    chunks: [";
    for (int i = 0; i < opt.chunks; ++i) paced << (i ? ", " : "") << "\" tok\"";
    paced << "]\n";
  }
  std::vector<models::ProviderConfig> providers(3);
  providers[0].name = "replay";
  providers[0].kind = "scripted";
  providers[0].script = (dir / "replay.yaml").string();
  providers[1].name = "small";
  providers[1].kind = "scripted";
  providers[1].script = (dir / "small.yaml").string();
  providers[2].name = "paced";
  providers[2].kind = "scripted";
  providers[2].script = (dir / "paced.yaml").string();
  std::vector<models::ModelRoute> routes;
  for (const char* name : {"replay", "small", "paced"}) {
    models::ModelRoute route;
    route.name = route.provider = route.upstream_model = name;
    routes.push_back(std::move(route));
  }

  const std::string db_name = "steward_gateway_bench_" + std::to_string(getpid());
  const std::string db_url = WithDatabase(opt.pg, db_name);
  AdminSql(opt.pg, "CREATE DATABASE " + db_name);
  g_cleanup = [pg = opt.pg, db_name, dir] {
    AdminSql(pg, "DROP DATABASE IF EXISTS " + db_name + " WITH (FORCE)");
    std::error_code ec;
    fs::remove_all(dir, ec);
  };
  auto db = Must(store::Database::Connect(db_url, 8), "connecting to the scratch database");
  Must(store::ApplyMigrations(*db), "migrating the scratch database");

  auto direct = Must(models::ScriptedProvider::Load(providers[0]), "loading the script");
  models::ModelGateway plain_gateway(Must(models::ModelRouter::Create(providers, routes), "routing"), nullptr);
  models::ModelGateway recording_gateway(Must(models::ModelRouter::Create(providers, routes), "routing"), db.get());

  // The /v1 route needs a ChatService (to tell agents from models); no run is ever started, so a
  // shell stands in for the Python worker.
  runners::WorkerPoolOptions pool_options;
  pool_options.command = {"/bin/sh", "-c",
                          "echo '{\"type\":\"ready\",\"pid\":'$$',\"runners\":[],\"versions\":{}}'; "
                          "while read -r line; do case \"$line\" in *'\"shutdown\"'*) exit 0;; esac; done"};
  pool_options.size = 1;
  pool_options.ping_interval = std::chrono::hours(1);
  pool_options.ping_timeout = std::chrono::hours(1);
  auto pool = Must(runners::WorkerPool::Start(pool_options), "starting the stub worker");
  engine::RunRegistry runs;
  gateway::Authenticator auth(kToken, runs);
  auto chat = std::make_unique<engine::ChatService>(*db, *pool, runs, engine::ChatServiceOptions{});
  // Threads inherit the affinity of their creator: the servers' accept threads (and through them
  // every connection thread) are started while this thread is on CPU 0, the clients after.
  if (opt.pin) PinToCpu(0);
  auto plain = StartCore(auth, *chat, runs, plain_gateway);
  auto recording = StartCore(auth, *chat, runs, recording_gateway);
  if (opt.pin) PinToCpu(1);

  std::printf("gateway_bench: /v1/chat/completions over a zero-delay scripted model, %d content chunks of 4 bytes\n",
              opt.chunks);
  std::printf("build %s, %u cores, load average at start %s%s\n", STEWARD_BENCH_BUILD_TYPE,
              std::thread::hardware_concurrency(), load_at_start.c_str(),
              opt.pin ? ", server threads pinned to CPU 0 and clients to CPU 1" : "");

  std::printf("\nbaselines\n");
  Samples loopback = LoopbackOneWay(5000);
  Row("loopback TCP one way (1-byte ping-pong / 2)", loopback);
  ChatRequest chat_request;
  chat_request.model = "replay";
  chat_request.messages = nlohmann::json::parse(R"([{"role":"user","content":"hi"}])");
  InProcess provider = TimeInProcess(2000, opt.chunks, [&](const models::ChunkSink& sink, int64_t* start) {
    *start = NowNs();
    (void)direct->Complete(chat_request, sink);
  });
  Row("provider called directly: first chunk", provider.first);
  Row("provider called directly: between chunks", provider.between);
  InProcess in_gateway = TimeInProcess(2000, opt.chunks, [&](const models::ChunkSink& sink, int64_t* start) {
    ChatRequest copy = chat_request;
    *start = NowNs();
    (void)plain_gateway.Complete("replay", std::move(copy), sink, {});
  });
  Row("ModelGateway in-process (no HTTP): first chunk", in_gateway.first);
  Row("ModelGateway in-process (no HTTP): between chunks", in_gateway.between);

  const std::string n_streams = std::to_string(opt.streams) + " concurrent streams";
  if (opt.spin) {
    StreamRun one_spin = RunStreams(plain->port, "replay", false, true, 1, opt.requests, opt.chunks);
    PrintStreams("1 stream, zero-delay model, busy-polling client", one_spin, provider, true);
  }
  StreamRun one = RunStreams(plain->port, "replay", false, false, 1, opt.requests, opt.chunks);
  PrintStreams("1 stream, zero-delay model, blocking client", one, provider, true);
  StreamRun many = RunStreams(plain->port, "replay", false, false, opt.streams, opt.stream_requests, opt.chunks);
  PrintStreams(n_streams + ", zero-delay model, blocking clients (CPU saturated)", many, provider, true);
  const std::string pace = std::to_string(kPacedDelayMs) + " ms between chunks";
  StreamRun paced_one = RunStreams(plain->port, "paced", true, false, 1, opt.paced_requests, opt.chunks);
  PrintStreams("1 stream, model pacing " + pace + ", blocking client", paced_one, provider, false);
  StreamRun paced_many = RunStreams(plain->port, "paced", true, false, opt.streams, 2, opt.chunks);
  PrintStreams(n_streams + ", model pacing " + pace + ", blocking clients", paced_many, provider, false);
  StreamRun recorded = RunStreams(recording->port, "replay", false, false, 1, opt.requests / 10 + 1, opt.chunks);
  std::printf("\n1 stream, zero-delay model, model_call recorded in PostgreSQL (as deployed)\n");
  Row("first token", recorded.first_token);
  Row("per chunk (born -> received)", recorded.hop);
  Row("whole answer (request -> [DONE]; the row is written first)", recorded.whole);

  std::printf("\nrequests/s, non-streaming one-word completions (closed loop, %.0f s each)\n", opt.rps_seconds);
  RpsRun rps1 = RunRps(plain->port, 1, opt.rps_seconds);
  PrintRps("1 connection, no recording", rps1);
  RpsRun rps50 = RunRps(plain->port, 50, opt.rps_seconds);
  PrintRps("50 connections, no recording", rps50);
  RpsRun rec1 = RunRps(recording->port, 1, opt.rps_seconds);
  PrintRps("1 connection, model_call recorded", rec1);
  RpsRun rec50 = RunRps(recording->port, 50, opt.rps_seconds);
  PrintRps("50 connections, model_call recorded", rec50);

  std::printf("\ntarget: core hop <= %.0f µs p50, <= %.0f µs p99 at one stream (per chunk, added by the core)\n",
              kTargetP50Us, kTargetP99Us);
  auto verdict = [&](const std::string& label, Samples& hop) {
    const double p50 = hop.Percentile(0.5) - provider.between.Percentile(0.5);
    const double p99 = hop.Percentile(0.99) - provider.between.Percentile(0.99);
    std::printf("  %-60s p50 %7.1f µs %-8s p99 %7.1f µs %s\n", label.c_str(), p50, Verdict(p50, kTargetP50Us), p99,
                Verdict(p99, kTargetP99Us));
  };
  verdict("zero-delay model: born -> received", one.hop);
  verdict("zero-delay model: born -> server send() returned", one.core_total);
  verdict("paced model: born -> received", paced_one.hop);
  verdict("paced model: born -> server send() returned", paced_one.core_total);
  std::printf("load average at end %s\n", LoadAverage().c_str());

  plain->http.Stop();
  recording->http.Stop();
  pool->Shutdown();
  chat.reset();
  pool.reset();
  db.reset();
  std::exchange(g_cleanup, nullptr)();
  return 0;
}

}  // namespace
}  // namespace steward::bench

int main(int argc, char** argv) { return steward::bench::Main(argc, argv); }
