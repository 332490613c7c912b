#include "bench_support.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

namespace steward::bench {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- send() tracing ----

namespace {
constexpr int kMaxTracedFd = 4096;
thread_local int64_t t_last_sleep_return_ns = 0;
std::array<std::atomic<SendLog*>, kMaxTracedFd> g_logs{};
std::array<std::atomic<int64_t>, kMaxTracedFd> g_received{};  // traced descriptors only

SendLog* LogFor(int fd) {
  if (fd < 0 || fd >= kMaxTracedFd) return nullptr;
  return g_logs[static_cast<size_t>(fd)].load(std::memory_order_acquire);
}

int64_t ReceivedAt(int fd) { return g_received[static_cast<size_t>(fd)].load(std::memory_order_relaxed); }

void NoteReceived(int fd) {
  if (LogFor(fd) != nullptr) g_received[static_cast<size_t>(fd)].store(NowNs(), std::memory_order_relaxed);
}

template <class Fn>
Fn Real(const char* name) {
  void* sym = dlsym(RTLD_NEXT, name);
  if (!sym) {
    std::fprintf(stderr, "bench: cannot find libc's %s: %s\n", name, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}
}  // namespace

void SendLog::Append(const SendRecord& record) {
  const size_t i = size_.load(std::memory_order_relaxed);  // one writer: the connection's thread
  if (i >= records_.size()) {
    overflow_.store(true, std::memory_order_relaxed);
    return;
  }
  records_[i] = record;
  size_.store(i + 1, std::memory_order_release);
}

bool SendLog::WaitFor(size_t n, int64_t timeout_ns) const {
  const int64_t deadline = NowNs() + timeout_ns;
  for (int spins = 0; size() < n; ++spins) {
    if (NowNs() > deadline) return false;
    if (spins > 1000) std::this_thread::yield();
  }
  return true;
}

void TraceSends(int fd, SendLog* log) {
  if (fd < 0 || fd >= kMaxTracedFd) {
    std::fprintf(stderr, "bench: fd %d is beyond the traced range\n", fd);
    std::abort();
  }
  g_logs[static_cast<size_t>(fd)].store(log, std::memory_order_release);
}

int FindPeerFd(int client_fd) {
  sockaddr_in mine{}, theirs{};
  socklen_t len = sizeof mine;
  if (getsockname(client_fd, reinterpret_cast<sockaddr*>(&mine), &len) != 0) return -1;
  len = sizeof theirs;
  if (getpeername(client_fd, reinterpret_cast<sockaddr*>(&theirs), &len) != 0) return -1;
  for (int fd = 0; fd < kMaxTracedFd; ++fd) {
    if (fd == client_fd) continue;
    sockaddr_in local{}, peer{};
    len = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 || local.sin_family != AF_INET) continue;
    len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (local.sin_port == theirs.sin_port && peer.sin_port == mine.sin_port &&
        local.sin_addr.s_addr == theirs.sin_addr.s_addr && peer.sin_addr.s_addr == mine.sin_addr.s_addr) {
      return fd;
    }
  }
  return -1;
}

// ---- samples ----

double Samples::Percentile(double q) {
  if (values_.empty()) return 0;
  if (!sorted_) {
    std::sort(values_.begin(), values_.end());
    sorted_ = true;
  }
  const double rank = std::ceil(q * static_cast<double>(values_.size()));
  const size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values_.size()))) - 1;
  return values_[i];
}

void Row(const std::string& label, Samples& s) {
  std::printf("  %-56s p50 %9.2f µs   p99 %9.2f µs   (n=%zu)\n", label.c_str(), s.Percentile(0.5),
              s.Percentile(0.99), s.size());
}

void AddedRow(const std::string& label, Samples& through, Samples& direct) {
  std::printf("  %-56s p50 %9.2f µs   p99 %9.2f µs\n", label.c_str(), through.Percentile(0.5) - direct.Percentile(0.5),
              through.Percentile(0.99) - direct.Percentile(0.99));
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// ---- raw HTTP/1.1 client ----

RawClient::RawClient(uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "bench: cannot connect to 127.0.0.1:%u: %s\n", port, std::strerror(errno));
    std::exit(1);
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  buf_.reserve(64 * 1024);
}

RawClient::~RawClient() {
  if (fd_ >= 0) close(fd_);
}

bool RawClient::Fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  char tmp[16384];
  for (;;) {
    const ssize_t n = recv(fd_, tmp, sizeof tmp, spin_ ? MSG_DONTWAIT : 0);
    last_fill_ns_ = NowNs();
    if (n > 0) {
      buf_.append(tmp, static_cast<size_t>(n));
      ++fills_;
      return true;
    }
    if (n < 0 && (errno == EINTR || (spin_ && (errno == EAGAIN || errno == EWOULDBLOCK)))) continue;
    return false;
  }
}

namespace {
bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool HeaderHas(std::string_view head, std::string_view needle) {
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  return std::search(head.begin(), head.end(), needle.begin(), needle.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != head.end();
}
}  // namespace

int RawClient::ReadHead(size_t* content_length, bool* chunked) {
  size_t end;
  while ((end = buf_.find("\r\n\r\n", pos_)) == std::string::npos) {
    if (!Fill()) return -1;
  }
  const std::string_view head(buf_.data() + pos_, end - pos_);
  pos_ = end + 4;
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return -1;
  const int status = std::atoi(std::string(head.substr(9, 3)).c_str());
  *chunked = HeaderHas(head, "transfer-encoding: chunked");
  *content_length = 0;
  static constexpr std::string_view kLength = "\r\ncontent-length:";
  auto it = std::search(head.begin(), head.end(), kLength.begin(), kLength.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  if (it != head.end()) *content_length = std::strtoul(&*(it + kLength.size()), nullptr, 10);
  return status;
}

int RawClient::RoundTrip(const std::string& request, std::string* body) {
  if (!SendAll(fd_, request)) return -1;
  size_t length = 0;
  bool chunked = false;
  const int status = ReadHead(&length, &chunked);
  if (status < 0 || chunked) return -1;
  while (buf_.size() - pos_ < length) {
    if (!Fill()) return -1;
  }
  if (body) body->assign(buf_, pos_, length);
  pos_ += length;
  return status;
}

int RawClient::Stream(const std::string& request, int64_t* sent_ns, std::vector<Chunk>* chunks) {
  chunks->clear();
  *sent_ns = NowNs();
  if (!SendAll(fd_, request)) return -1;
  size_t length = 0;
  bool chunked = false;
  const int status = ReadHead(&length, &chunked);
  if (status < 0 || !chunked) return -1;
  for (;;) {
    size_t eol;
    while ((eol = buf_.find("\r\n", pos_)) == std::string::npos) {
      if (!Fill()) return -1;
    }
    const size_t size = std::strtoul(buf_.c_str() + pos_, nullptr, 16);
    const size_t need = eol + 2 + size + 2;
    while (buf_.size() < need) {
      if (!Fill()) return -1;
    }
    if (size == 0) {
      pos_ = need;
      return status;
    }
    static constexpr std::string_view kDone = "data: [DONE]";
    chunks->push_back(
        Chunk{last_fill_ns_, size, std::string_view(buf_.data() + eol + 2, size).starts_with(kDone), fills_});
    pos_ = need;
  }
}

std::string PostJson(const std::string& path, const std::string& token, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

int64_t ChunkWireBytes(size_t payload) {
  char hex[24];
  const int n = std::snprintf(hex, sizeof hex, "%zx", payload);
  return n + 2 + static_cast<int64_t>(payload) + 2;
}

}  // namespace steward::bench

// ---- the interposed libc functions ----
// Defined in the executable, so the server code linked into it (Boost.Asio's socket_ops) calls
// these; untraced descriptors cost one atomic load.

extern "C" ssize_t send(int fd, const void* buf, size_t len, int flags) {
  using Fn = ssize_t (*)(int, const void*, size_t, int);
  static const Fn real = steward::bench::Real<Fn>("send");
  steward::bench::SendLog* log = steward::bench::LogFor(fd);
  if (!log) return real(fd, buf, len, flags);
  const int64_t entered = steward::bench::NowNs();
  const ssize_t n = real(fd, buf, len, flags);
  log->Append({entered, steward::bench::NowNs(), n, steward::bench::t_last_sleep_return_ns,
               steward::bench::ReceivedAt(fd)});
  return n;
}

extern "C" ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  using Fn = ssize_t (*)(int, const struct msghdr*, int);
  static const Fn real = steward::bench::Real<Fn>("sendmsg");
  steward::bench::SendLog* log = steward::bench::LogFor(fd);
  if (!log) return real(fd, msg, flags);
  const int64_t entered = steward::bench::NowNs();
  const ssize_t n = real(fd, msg, flags);
  log->Append({entered, steward::bench::NowNs(), n, steward::bench::t_last_sleep_return_ns,
               steward::bench::ReceivedAt(fd)});
  return n;
}

extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
  using Fn = ssize_t (*)(int, void*, size_t, int);
  static const Fn real = steward::bench::Real<Fn>("recv");
  const ssize_t n = real(fd, buf, len, flags);
  if (n > 0) steward::bench::NoteReceived(fd);
  return n;
}

extern "C" ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  using Fn = ssize_t (*)(int, struct msghdr*, int);
  static const Fn real = steward::bench::Real<Fn>("recvmsg");
  const ssize_t n = real(fd, msg, flags);
  if (n > 0) steward::bench::NoteReceived(fd);
  return n;
}

extern "C" int nanosleep(const struct timespec* duration, struct timespec* remaining) {
  using Fn = int (*)(const struct timespec*, struct timespec*);
  static const Fn real = steward::bench::Real<Fn>("nanosleep");
  const int rc = real(duration, remaining);
  steward::bench::t_last_sleep_return_ns = steward::bench::NowNs();
  return rc;
}

extern "C" int clock_nanosleep(clockid_t clock, int flags, const struct timespec* request,
                               struct timespec* remaining) {
  using Fn = int (*)(clockid_t, int, const struct timespec*, struct timespec*);
  static const Fn real = steward::bench::Real<Fn>("clock_nanosleep");
  const int rc = real(clock, flags, request, remaining);
  steward::bench::t_last_sleep_return_ns = steward::bench::NowNs();
  return rc;
}
