#pragma once
// The `offline` provider: Steward's deterministic stand-in for a model, so the whole system
// runs with no key and no network. It is not an LLM and says so in every answer.
//
// On a request whose last message is the user's, it picks offered tools by keyword rules
// (detail/offline_rules.cpp) and streams them as parallel tool calls (ids `call_<n>`, n counting
// every tool call in the conversation). When a web tool's result is an error (the web is down),
// it first searches the local documents (memory search) with the same query, and the answer then
// says "used fallback: local documents". Once tool results follow, it answers extractively: the
// sentences of the results sharing most terms with the question, cited [n], with a Sources list.
// With no applicable tool it describes its tools when asked what it can do, quotes earlier
// messages when they overlap the question, and otherwise says it cannot answer. When the request
// needs a capability no offered tool has (sending email, posting, buying, booking, running
// commands...; detail/offline_gaps.cpp), it does what it can (drafts the email) and ends the
// answer, after the honesty line, with a ```steward-tool-gap block (docs/tool-gap-report.schema.json).
//
// Usage is approximate: tokens = ceil(bytes / 4), the usual rule of thumb for English under
// BPE tokenizers. Prompt bytes are the messages' text, tool call names and arguments, plus the
// serialized `tools`; completion bytes are the answer text plus tool call names and arguments.

#include <chrono>
#include <functional>
#include <string_view>

#include "models/provider.hpp"
#include "models/provider_config.hpp"

namespace steward::models {

class OfflineProvider final : public Provider {
 public:
  // Every final answer contains this line.
  static constexpr std::string_view kHonestyLine =
      "(Steward offline model: extractive answer, no LLM configured.)";
  // Answers stream as chunks of this many words.
  static constexpr size_t kWordsPerChunk = 4;

  // The calendar day that "yesterday" or "last week" are counted from.
  using TodayFn = std::function<std::chrono::sys_days()>;

  // `today` may be empty: the local date of the system clock is used. Tests pass a fixed day.
  explicit OfflineProvider(ProviderConfig config, TodayFn today = {});

  // Deterministic: the same request (and day) gives the same chunks and result. Thread-safe.
  // Returns kCancelled when `sink` returns false.
  [[nodiscard]] Result<ChatResult> Complete(const ChatRequest& request,
                                            const ChunkSink& sink) override;

  [[nodiscard]] std::string_view kind() const override { return "offline"; }

 private:
  ProviderConfig config_;
  TodayFn today_;
};

}  // namespace steward::models
