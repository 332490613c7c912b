#pragma once
// The `scripted` provider: replays a YAML script, for tests and benchmarks (with zero delays it
// measures the core's own overhead). Script format (also in docs/scripted-provider.md):
//
//   responses:
//     - match: "weather in (Paris|Rome)"  # ECMAScript regex searched in the last user message
//       content: "It is sunny."            # streamed one word per chunk: "It", " is", " sunny."
//     - when: after_tool                   # the last message is a tool result
//       match: "weather"                   # optional here: also test the last user message
//       chunks: ["It ", "rains", "."]      # explicit chunks instead of `content`
//       first_delay_ms: 50                 # before the first chunk (default 0)
//       chunk_delay_ms: 10                 # between chunks (default 0)
//       usage: {prompt_tokens: 10, completion_tokens: 5}   # default: ceil(bytes / 4)
//     - tool_calls:                        # streamed after any content; finish_reason tool_calls
//         - name: memory.search
//           arguments: {query: "x"}        # a map (sent as JSON) or a string sent verbatim
//           id: call_1                     # optional; default call_<entry>_<k>
//     - error: {status: 503, message: "overloaded"}  # the call fails with this error; with
//                                                    # content/chunks they stream first
//
// Selection: the first entry with `match` or `when` that matches wins; an entry with `match`
// alone applies only when the last message is the user's (so a tool result does not replay the
// same tool call forever). Entries with neither are defaults, taken in turn (a cursor shared by
// all callers, cycling). With no match and no default the call fails with kInvalidArgument.
// The whole call is bounded by ProviderConfig::timeout (kDeadlineExceeded), and a sink
// returning false between chunks stops it (kCancelled).

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/provider.hpp"
#include "models/provider_config.hpp"

namespace steward::models {

class ScriptedProvider final : public Provider {
 public:
  // Reads and validates `config.script`. Errors (kConfig) name the file, the entry and field
  // (`responses[2].chunk_delay_ms`), the line, and what was expected.
  [[nodiscard]] static Result<std::unique_ptr<ScriptedProvider>> Load(const ProviderConfig& config);

  // Same from YAML text; `source_name` stands for the file in error messages.
  [[nodiscard]] static Result<std::unique_ptr<ScriptedProvider>> Parse(const ProviderConfig& config,
                                                                       const std::string& yaml_text,
                                                                       const std::string& source_name);

  ~ScriptedProvider() override;

  // Replays the selected entry. Thread-safe; allocates only the returned result.
  [[nodiscard]] Result<ChatResult> Complete(const ChatRequest& request,
                                            const ChunkSink& sink) override;

  [[nodiscard]] std::string_view kind() const override { return "scripted"; }

  // Number of entries in the script.
  [[nodiscard]] size_t size() const;

  struct Entry;  // one validated, pre-chunked response; defined in the .cpp

 private:
  ScriptedProvider(ProviderConfig config, std::string source, std::vector<Entry> entries);

  ProviderConfig config_;
  std::string source_;  // the script's file name, for error messages
  std::vector<Entry> entries_;
  std::vector<size_t> conditional_;  // indices of entries with match/when, in script order
  std::vector<size_t> defaults_;     // indices of entries without
  std::atomic<size_t> cursor_{0};    // next default, modulo defaults_.size()
};

}  // namespace steward::models
