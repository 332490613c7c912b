#pragma once
// Measuring tools for gateway_bench: a clock, percentiles, a raw HTTP/1.1 client that timestamps
// each chunk of a chunked response as it arrives, and a trace of the server's send() calls.
//
// Why trace send(): the scripted provider has no clock hook, but with zero delays it produces
// chunk k+1 the moment the core's write of chunk k returns (the provider loop calls the sink,
// the sink writes to the socket, returns, and the loop calls it again). So the return of the
// server's send() for chunk k marks the birth of chunk k+1, and the client's receive time of
// chunk k+1 minus that instant is exactly what the core (plus the kernel) added to that chunk.
// send() and sendmsg() are interposed in this executable (Boost.Asio, header-only, calls them
// from the server's code linked in here); only file descriptors registered with TraceSends are
// timed, every other call goes straight to libc.
//
// For a paced script (chunk_delay_ms > 0) chunk k is born when the provider's sleep before it
// returns. nanosleep() and clock_nanosleep() are interposed too (std::this_thread::sleep_for
// calls nanosleep inline, from the provider's code linked in here): each thread remembers when
// its last sleep returned, and a traced send records it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace steward::bench {

// Monotonic nanoseconds (steady_clock; vDSO, ~20-30 ns a call with the tsc clocksource).
[[nodiscard]] int64_t NowNs();

// ---- send() tracing ----

struct SendRecord {
  int64_t entered_ns = 0;   // just before the real send()/sendmsg()
  int64_t returned_ns = 0;  // just after it returned
  int64_t bytes = 0;        // its return value
  int64_t slept_ns = 0;     // when the sending thread's last nanosleep returned (0: never slept)
  int64_t received_ns = 0;  // when the last recv()/recvmsg() on the same descriptor returned data
};

// Records of one server connection's sends, appended by that connection's thread only.
class SendLog final {
 public:
  explicit SendLog(size_t capacity) : records_(capacity) {}
  void Append(const SendRecord& record);
  // Records appended so far (acquire: the records below it are complete).
  [[nodiscard]] size_t size() const { return size_.load(std::memory_order_acquire); }
  // Waits (spinning, then yielding) until size() >= n; false after `timeout_ns`.
  [[nodiscard]] bool WaitFor(size_t n, int64_t timeout_ns) const;
  [[nodiscard]] const SendRecord& at(size_t i) const { return records_[i]; }
  [[nodiscard]] bool overflowed() const { return overflow_.load(std::memory_order_relaxed); }

 private:
  std::vector<SendRecord> records_;
  std::atomic<size_t> size_{0};
  std::atomic<bool> overflow_{false};
};

// Starts (log != null) or stops timing the sends on `fd`, and noting when its reads return (recv()
// and recvmsg() are interposed too), so a server's time from a request's arrival to its answer can
// be read without the wake-ups around it. The log must outlive the tracing.
void TraceSends(int fd, SendLog* log);

// The file descriptor of this process's server-side end of the TCP connection whose client end
// is `client_fd` (matched by address pairs), or -1.
[[nodiscard]] int FindPeerFd(int client_fd);

// ---- samples ----

// Durations in microseconds.
class Samples final {
 public:
  void Add(double us) { values_.push_back(us); }
  void AddNs(int64_t ns) { values_.push_back(static_cast<double>(ns) / 1000.0); }
  void Merge(const Samples& other) { values_.insert(values_.end(), other.values_.begin(), other.values_.end()); }
  [[nodiscard]] size_t size() const { return values_.size(); }
  // Nearest-rank percentile, q in (0, 1]; sorts lazily. 0 when empty.
  [[nodiscard]] double Percentile(double q);

 private:
  std::vector<double> values_;
  bool sorted_ = false;
};

// "  <label>   p50 … µs   p99 … µs   (n=…)", one line of a benchmark's report.
void Row(const std::string& label, Samples& samples);
// The same for `through` minus `direct`, percentile by percentile.
void AddedRow(const std::string& label, Samples& through, Samples& direct);
// The three load averages from /proc/loadavg.
[[nodiscard]] std::string LoadAverage();

// ---- raw HTTP/1.1 client ----

// One keep-alive connection to 127.0.0.1:port with TCP_NODELAY, blocking I/O.
class RawClient final {
 public:
  // One complete chunk of a chunked response body (an SSE event, as the core writes one per chunk).
  struct Chunk {
    int64_t at_ns = 0;   // when the recv() that completed it returned
    size_t size = 0;     // payload bytes
    bool done = false;   // the payload is "data: [DONE]\n\n"
    uint64_t read = 0;   // which recv() completed it (chunks sharing one were read together)
  };

  explicit RawClient(uint16_t port);  // aborts the program if it cannot connect
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] int fd() const { return fd_; }
  // Busy-poll reads (recv with MSG_DONTWAIT in a loop) instead of sleeping in recv(): the client
  // then never needs waking, and is never slower than the server. Costs a whole core.
  void set_spin(bool spin) { spin_ = spin; }

  // Sends `request` and reads a Content-Length response. Returns the HTTP status (-1 on a
  // broken connection); the body goes to `body` if given.
  int RoundTrip(const std::string& request, std::string* body = nullptr);

  // Sends `request` and reads a chunked response to its end, timestamping each chunk.
  // `sent_ns` is taken just before the request's send(). Returns the HTTP status (-1 on error).
  int Stream(const std::string& request, int64_t* sent_ns, std::vector<Chunk>* chunks);

 private:
  bool Fill();  // one recv() appended to buf_; false on EOF or error
  int ReadHead(size_t* content_length, bool* chunked);

  int fd_ = -1;
  bool spin_ = false;
  std::string buf_;
  size_t pos_ = 0;
  int64_t last_fill_ns_ = 0;
  uint64_t fills_ = 0;
};

// A POST request with a JSON body and a bearer token, keep-alive.
[[nodiscard]] std::string PostJson(const std::string& path, const std::string& token, const std::string& body);

// Bytes one HTTP chunk of `payload` bytes occupies on the wire: hex size, CRLF, payload, CRLF.
[[nodiscard]] int64_t ChunkWireBytes(size_t payload);

}  // namespace steward::bench
