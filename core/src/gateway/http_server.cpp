#include "gateway/http_server.hpp"

#include <sys/socket.h>

#include <chrono>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "telemetry/instruments.hpp"

namespace steward::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) segments.push_back(PercentDecode(path.substr(start, end - start)));
    start = end + 1;
  }
  return segments;
}

}  // namespace

ParsedTarget ParseTarget(std::string_view target) {
  ParsedTarget parsed;
  const size_t q = target.find('?');
  parsed.segments = SplitPath(target.substr(0, q));
  if (q == std::string_view::npos) return parsed;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (!pair.empty()) {
      parsed.query[PercentDecode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return parsed;
}

// ---- ResponseWriter ----

void ResponseWriter::Send(http::status status, std::string_view content_type, std::string body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, "steward");
  res.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) res.set(name, value);
  res.keep_alive(keep_alive_);
  res.body() = std::move(body);
  res.prepare_payload();
  beast::error_code ec;
  http::write(socket_, res, ec);
  if (ec) broken_ = true;
  responded_ = true;
  status_ = static_cast<int>(status);
}

void ResponseWriter::SendJson(http::status status, const nlohmann::json& body) {
  Send(status, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void ResponseWriter::SendError(const Error& error) {
  const ErrorInfo& info = Describe(error.code);
  nlohmann::json body = {{"error", {{"code", info.name}, {"message", error.message}}}};
  if (!error.context.empty()) body["error"]["context"] = error.context;
  SendJson(static_cast<http::status>(info.http_status), body);
}

bool ResponseWriter::StartStream(http::status status, std::string_view content_type,
                                 const std::vector<std::pair<std::string, std::string>>& headers) {
  http::response<http::empty_body> res{status, 11};
  res.set(http::field::server, "steward");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");
  for (const auto& [name, value] : headers) res.set(name, value);
  res.keep_alive(keep_alive_);
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  beast::error_code ec;
  http::write_header(socket_, sr, ec);
  responded_ = true;
  status_ = static_cast<int>(status);
  streaming_ = true;
  if (ec) broken_ = true;
  return !broken_;
}

bool ResponseWriter::Write(std::string_view data) {
  if (broken_ || data.empty()) return !broken_;
  char size_line[24];
  const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
  const std::array<net::const_buffer, 3> buffers = {net::buffer(size_line, static_cast<size_t>(n)),
                                                    net::buffer(data.data(), data.size()),
                                                    net::buffer("\r\n", 2)};
  beast::error_code ec;
  net::write(socket_, buffers, ec);
  if (ec) broken_ = true;
  return !broken_;
}

void ResponseWriter::EndStream() {
  if (!streaming_ || broken_) return;
  beast::error_code ec;
  net::write(socket_, net::buffer("0\r\n\r\n", 5), ec);
  if (ec) broken_ = true;
  streaming_ = false;
}

bool ResponseWriter::PeerClosed() {
  if (broken_) return true;
  char byte;
  const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) {
    broken_ = true;
    return true;
  }
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    broken_ = true;
    return true;
  }
  return false;
}

// ---- HttpServer ----

HttpServer::HttpServer() = default;
HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(http::verb method, std::string pattern, Handler handler) {
  std::vector<std::string> segments = SplitPath(pattern);
  routes_.push_back(RouteEntry{method, std::move(segments), std::move(pattern), std::move(handler)});
}

Result<uint16_t> HttpServer::Start(const HttpServerOptions& options) {
  options_ = options;
  io_ = std::make_unique<net::io_context>();
  beast::error_code ec;
  const auto address = net::ip::make_address(options.host, ec);
  if (ec) {
    return MakeError(ErrorCode::kConfig, "not an IP address: \"" + options.host + "\"", "listen");
  }
  acceptor_ = std::make_unique<tcp::acceptor>(*io_);
  const tcp::endpoint endpoint{address, options.port};
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                         ec.message(),
                     "listen");
  }
  const uint16_t port = acceptor_->local_endpoint().port();
  options_.port = port;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return port;
}

void HttpServer::AcceptLoop() {
  while (!stopping_) {
    tcp::socket socket{*io_};
    beast::error_code ec;
    acceptor_->accept(socket, ec);
    if (ec) {
      if (stopping_) return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::thread([this, s = std::move(socket)]() mutable { Serve(std::move(s)); }).detach();
  }
}

void HttpServer::Serve(tcp::socket socket) {
  const int fd = socket.native_handle();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    connections_[fd] = &socket;
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options_.max_body_bytes);
    parser.header_limit(64 * 1024);
    beast::error_code ec;
    http::read(socket, buffer, parser, ec);
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == net::error::bad_descriptor) {
      break;
    }
    if (ec) {
      ResponseWriter writer(socket, false);
      const bool too_big = ec == http::error::body_limit;
      writer.SendJson(too_big ? http::status::payload_too_large : http::status::bad_request,
                      {{"error",
                        {{"code", "invalid_argument"},
                         {"message", too_big ? "request body exceeds " + std::to_string(options_.max_body_bytes) +
                                                   " bytes"
                                             : "malformed HTTP request: " + ec.message()}}}});
      break;
    }
    Request request = parser.release();
    ResponseWriter writer(socket, request.keep_alive());
    Dispatch(request, writer);
    if (!writer.keep_alive() || stopping_) break;
  }
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  std::lock_guard lock(mu_);
  connections_.erase(fd);
  socket.close(ignored);
  idle_cv_.notify_all();
}

void HttpServer::Dispatch(const Request& request, ResponseWriter& writer) {
  const auto start = std::chrono::steady_clock::now();
  const std::string& route = Handle(request, writer);
  const auto method = request.method_string();
  telemetry::metrics::HttpRequest(
      std::string_view(method.data(), method.size()), route, writer.status(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

const std::string& HttpServer::Handle(const Request& request, ResponseWriter& writer) {
  static const std::string kUnmatched = "unmatched";
  const ParsedTarget target = ParseTarget(request.target());
  bool path_matched = false;
  for (const RouteEntry& route : routes_) {
    if (route.segments.size() != target.segments.size()) continue;
    PathParams params;
    bool match = true;
    for (size_t i = 0; i < route.segments.size() && match; ++i) {
      const std::string& seg = route.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        params[seg.substr(1, seg.size() - 2)] = target.segments[i];
      } else if (seg != target.segments[i]) {
        match = false;
      }
    }
    if (!match) continue;
    path_matched = true;
    if (route.method != request.method()) continue;
    try {
      route.handler(request, params, writer);
    } catch (const std::exception& e) {
      // Handlers return errors as values; reaching here is a bug, but the connection must survive it.
      spdlog::error("handler for {} {} threw: {}", std::string(request.method_string()),
                    std::string(request.target()), e.what());
      if (!writer.responded()) writer.SendError(MakeError(ErrorCode::kInternal, "internal error"));
    }
    if (!writer.responded()) writer.SendError(MakeError(ErrorCode::kInternal, "handler sent no response"));
    return route.pattern;
  }
  if (path_matched) {
    writer.SendJson(http::status::method_not_allowed,
                    {{"error",
                      {{"code", "invalid_argument"},
                       {"message", std::string(request.method_string()) + " is not allowed on this path"}}}});
  } else {
    writer.SendJson(http::status::not_found,
                    {{"error", {{"code", "not_found"}, {"message", "no such endpoint: " + std::string(request.target())}}}});
  }
  return kUnmatched;
}

void HttpServer::Stop() {
  if (!acceptor_ || stopping_.exchange(true)) return;
  // shutdown() on a listening socket wakes a thread blocked in accept() (close() alone does not).
  ::shutdown(acceptor_->native_handle(), SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  beast::error_code ec;
  acceptor_->close(ec);
  std::unique_lock lock(mu_);
  for (auto& [fd, socket] : connections_) ::shutdown(fd, SHUT_RDWR);
  idle_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return connections_.empty(); });
}

}  // namespace steward::gateway
