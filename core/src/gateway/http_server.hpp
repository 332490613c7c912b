#pragma once
// The HTTP/1.1 server under every endpoint: Boost.Beast, one thread per connection.
//
// Why threads and blocking I/O rather than coroutines: a personal assistant serves a handful of
// clients, and a chat stream spends its life waiting on a model; a blocking handler reads like
// the flow it implements (persist → run → stream → persist) and makes cancellation a plain
// write failure. bench/gateway measures what it costs (per-chunk overhead in microseconds).

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::gateway {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using PathParams = std::map<std::string, std::string, std::less<>>;

// Writes one response on a connection: either a whole body, or a chunked stream (SSE).
// Owned by the connection thread; not thread-safe.
class ResponseWriter final {
 public:
  ResponseWriter(boost::asio::ip::tcp::socket& socket, bool keep_alive)
      : socket_(socket), keep_alive_(keep_alive) {}

  void Send(http::status status, std::string_view content_type, std::string body,
            const std::vector<std::pair<std::string, std::string>>& headers = {});
  void SendJson(http::status status, const nlohmann::json& body);
  // Sends {"error": {"code", "message", "context"}} with the status of the error's code.
  void SendError(const Error& error);

  // Starts a chunked response; false if the client is already gone.
  bool StartStream(http::status status, std::string_view content_type,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Writes one chunk; false once the client has gone away.
  bool Write(std::string_view data);
  void EndStream();

  // Non-blocking check whether the peer closed its side (for cancelling abandoned streams).
  [[nodiscard]] bool PeerClosed();

  [[nodiscard]] bool responded() const { return responded_; }
  // The status sent (for a stream, the one it started with); 0 before any.
  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] bool keep_alive() const { return keep_alive_ && !broken_; }

 private:
  boost::asio::ip::tcp::socket& socket_;
  bool keep_alive_;
  bool responded_ = false;
  int status_ = 0;
  bool streaming_ = false;
  bool broken_ = false;
};

using Handler = std::function<void(const Request&, const PathParams&, ResponseWriter&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8377;  // 0 picks a free port
  size_t max_body_bytes = 8 * 1024 * 1024;
};

class HttpServer final {
 public:
  HttpServer();
  ~HttpServer();

  // Registers a route; `pattern` segments like `{id}` capture into PathParams. Call before Start.
  void Route(http::verb method, std::string pattern, Handler handler);

  // Binds and starts accepting on a background thread. Returns the bound port.
  [[nodiscard]] Result<uint16_t> Start(const HttpServerOptions& options);

  // Stops accepting, closes open connections and waits for their threads.
  void Stop();

 private:
  struct RouteEntry {
    http::verb method;
    std::vector<std::string> segments;
    std::string pattern;  // as registered: the `route` label of request metrics
    Handler handler;
  };
  void AcceptLoop();
  void Serve(boost::asio::ip::tcp::socket socket);
  void Dispatch(const Request& request, ResponseWriter& writer);
  // Finds the route and runs its handler; returns the matched route's pattern or "unmatched".
  const std::string& Handle(const Request& request, ResponseWriter& writer);

  std::vector<RouteEntry> routes_;
  HttpServerOptions options_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::map<int, boost::asio::ip::tcp::socket*> connections_;  // native fd → socket, GUARDED_BY(mu_)
};

// Splits "/a/b?x=1" into path segments and decoded query parameters.
struct ParsedTarget {
  std::vector<std::string> segments;
  std::map<std::string, std::string, std::less<>> query;
};
[[nodiscard]] ParsedTarget ParseTarget(std::string_view target);

}  // namespace steward::gateway
