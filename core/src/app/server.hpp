#pragma once
// The Steward application: every component wired together, started in dependency order and
// stopped in reverse. Used by `steward serve` and by one-shot commands that need an embedded
// server for their duration.

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "common/result.hpp"

namespace steward::app {

struct ServerOptions {
  std::filesystem::path home;
  Config config;
  std::string listen;  // overrides config.server.listen when set ("HOST:PORT"; port 0 = any)
};

class Server final {
 public:
  // Starts everything; returns once /healthz answers 200. Errors name the failing part.
  [[nodiscard]] static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();  // Stop()

  // http://HOST:PORT of the running server.
  [[nodiscard]] const std::string& url() const;
  [[nodiscard]] const std::string& owner_token() const;

  // Stops accepting, cancels live runs, stops workers, closes the database, stops the embedded
  // cluster if this process started it. Idempotent.
  void Stop();

  struct Parts;  // defined in server.cpp

 private:
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Splits "HOST:PORT" ("[::1]:80" for IPv6). kConfig on anything else.
[[nodiscard]] Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen);

// The Python interpreter that runs workers: config, $STEWARD_WORKER_PYTHON, or a `.venv` next to
// the installation (searched upward from the executable).
[[nodiscard]] Result<std::string> FindWorkerPython(const Config& config);

}  // namespace steward::app
