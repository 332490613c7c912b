#include "app/export_command.hpp"

#include "engine/windmill_export.hpp"

namespace steward::app {

int RunExportWindmill(const Config& config, const ExportWindmillOptions& options, std::ostream& out,
                      std::ostream& err) {
  if (config.workflows.empty()) {
    err << "steward: no workflows are configured (add one under workflows: in "
        << (config.source.empty() ? std::string("steward.yaml") : config.source.string()) << ")\n";
    return 1;
  }
  engine::WindmillExportOptions export_options;
  export_options.folder = options.folder;
  auto exported = engine::ExportWindmill(options.workflow, config.workflows, export_options);
  if (!exported.ok()) {
    err << "steward: " << exported.error().ToString() << "\n";
    return 1;
  }
  if (Status written = engine::WriteWindmillExport(*exported, options.dir); !written.ok()) {
    err << "steward: " << written.error().ToString() << "\n";
    return 1;
  }
  out << "Exported " << options.workflow << " to " << options.dir.string() << " (" << exported->files.size()
      << " files):\n";
  for (const auto& file : exported->files) out << "  " << file.path << "\n";
  if (!exported->warnings.empty()) {
    out << "Differences from Steward's engine:\n";
    for (const auto& w : exported->warnings) out << "  - " << w << "\n";
  }
  out << "Next: in Windmill create the variables f/" << options.folder << "/steward_url and f/" << options.folder
      << "/steward_token (secret: the owner token in $STEWARD_HOME/token), then `wmill sync push` from "
      << options.dir.string() << ".\n";
  return 0;
}

}  // namespace steward::app
