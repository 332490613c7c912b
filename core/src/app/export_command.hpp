#pragma once
// `steward export windmill WORKFLOW DIR`: writes a Windmill workspace folder for a configured
// workflow (engine/windmill_export.hpp). Offline: reads the configuration, needs no server.

#include <filesystem>
#include <ostream>
#include <string>

#include "app/config.hpp"

namespace steward::app {

struct ExportWindmillOptions {
  std::string workflow;
  std::filesystem::path dir;
  std::string folder = "steward";  // Windmill folder: f/<folder>/
};

// Exports `options.workflow` of `config` into `options.dir`; prints the files written and what
// the Windmill flow does differently to `out`, errors to `err`. The exit status (0 ok, 1 error).
int RunExportWindmill(const Config& config, const ExportWindmillOptions& options, std::ostream& out,
                      std::ostream& err);

}  // namespace steward::app
