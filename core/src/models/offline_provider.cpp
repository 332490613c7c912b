#include "models/offline_provider.hpp"

#include <algorithm>
#include <ctime>
#include <map>

#include "models/detail/offline_extract.hpp"
#include "models/detail/offline_gaps.hpp"
#include "models/detail/offline_rules.hpp"

namespace steward::models {

namespace {

using detail::Evidence;
using detail::ToolOutcome;

constexpr std::string_view kOfflineMarker = "Steward offline model";

// The parts of the conversation the rules look at.
struct Conversation {
  std::string last_role;
  std::string question;  // the last user message's text
  bool has_question = false;
  struct ToolResult {
    std::string tool;
    const Json* content;
    std::string call_id;
  };
  std::vector<ToolResult> tool_results;  // after the last user message, in order
  struct CallInfo {
    Json arguments;
    size_t step = 0;  // which assistant message after the last user message made it
  };
  std::map<std::string, CallInfo> turn_calls;  // tool_call_id -> call, after the last user message
  std::vector<Evidence> history;         // earlier messages worth quoting
  size_t prior_tool_calls = 0;           // tool calls made so far (for call ids)
};

Conversation ReadConversation(const Json& messages) {
  Conversation c;
  if (!messages.is_array() || messages.empty()) return c;
  std::map<std::string, std::string> tool_names;  // tool_call_id -> function name
  size_t last_user = messages.size();
  size_t step = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    if (!m.is_object()) continue;
    const std::string role = m.value("role", "");
    if (role == "user") {
      last_user = i;
      c.turn_calls.clear();
      step = 0;
    }
    if (role == "assistant" && m.contains("tool_calls") && m["tool_calls"].is_array()) {
      for (const auto& call : m["tool_calls"]) {
        ++c.prior_tool_calls;
        if (!call.is_object() || !call.contains("id") || !call["id"].is_string()) continue;
        const Json fn = call.value("function", Json::object());
        const std::string id = call["id"].get<std::string>();
        tool_names[id] = fn.is_object() ? fn.value("name", "") : "";
        Json arguments = fn.is_object() && fn.contains("arguments") && fn["arguments"].is_string()
                             ? Json::parse(fn["arguments"].get<std::string>(), nullptr, false)
                             : Json::object();
        if (!arguments.is_object()) arguments = Json::object();
        c.turn_calls[id] = {std::move(arguments), step};
      }
      ++step;
    }
  }
  c.last_role = messages.back().is_object() ? messages.back().value("role", "") : "";
  size_t user_count = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    if (!m.is_object()) continue;
    const std::string role = m.value("role", "");
    const Json content = m.contains("content") ? m["content"] : Json();
    std::string tool = m.value("name", "");
    if (role == "tool" && m.contains("tool_call_id") && m["tool_call_id"].is_string()) {
      const auto it = tool_names.find(m["tool_call_id"].get<std::string>());
      if (it != tool_names.end() && !it->second.empty()) tool = it->second;
    }
    if (tool.empty()) tool = "tool";
    if (role == "user") ++user_count;
    if (i == last_user) {
      c.question = detail::ContentText(content);
      c.has_question = true;
    } else if (i > last_user && last_user < messages.size() && role == "tool") {
      static const Json kNoContent;
      const std::string call_id = m.contains("tool_call_id") && m["tool_call_id"].is_string()
                                      ? m["tool_call_id"].get<std::string>()
                                      : std::string();
      c.tool_results.push_back({tool, m.contains("content") ? &m["content"] : &kNoContent, call_id});
    } else if (i < last_user) {
      const std::string text = detail::ContentText(content);
      // Its own earlier answers are not evidence: quoting them would launder a non-answer.
      if (text.empty() || text.find(kOfflineMarker) != std::string::npos) continue;
      if (role == "user") {
        c.history.push_back({"earlier in this conversation (your message " + std::to_string(user_count) + ")", text});
      } else if (role == "assistant") {
        c.history.push_back({"earlier in this conversation (an earlier answer)", text});
      } else if (role == "tool") {
        c.history.push_back({"earlier in this conversation (result of " + tool + ")", text});
      }
    }
  }
  return c;
}

// The day relative phrases count from: the local calendar date.
std::chrono::sys_days LocalToday() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return std::chrono::sys_days{std::chrono::year{local.tm_year + 1900} /
                               std::chrono::month{static_cast<unsigned>(local.tm_mon + 1)} /
                               std::chrono::day{static_cast<unsigned>(local.tm_mday)}};
}

int64_t ApproxTokens(size_t bytes) { return static_cast<int64_t>((bytes + 3) / 4); }

size_t PromptBytes(const ChatRequest& request) {
  size_t bytes = 0;
  if (request.messages.is_array()) {
    for (const auto& m : request.messages) {
      if (!m.is_object()) continue;
      if (m.contains("content")) bytes += detail::ContentText(m["content"]).size();
      if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
        for (const auto& call : m["tool_calls"]) {
          if (call.is_object() && call.contains("function")) bytes += call["function"].dump().size();
        }
      }
    }
  }
  if (request.tools.is_array() && !request.tools.empty()) bytes += request.tools.dump().size();
  return bytes;
}

std::string ToolList(const std::vector<detail::OfferedTool>& tools) {
  std::string out;
  for (const auto& t : tools) {
    out += (out.empty() ? "" : ", ") + t.name;
  }
  return out;
}

std::string Bullets(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "- " + l + "\n";
  return out;
}

std::string SourcesBlock(const std::vector<std::string>& sources) {
  std::string out = "\nSources:\n";
  for (const auto& s : sources) out += s + "\n";
  return out;
}

std::string CapabilityAnswer(const std::vector<detail::OfferedTool>& tools) {
  std::string out =
      "I am Steward running on its offline model: a deterministic, rule-based stand-in used when "
      "no LLM is configured. I pick tools by keyword rules and answer by quoting what they return, "
      "with citations. I cannot reason, summarise or write like a language model.\n\n";
  if (tools.empty()) {
    out += "I can chat, but I have no tools in this conversation, so I can only quote what was "
           "said earlier in it.\n";
  } else {
    out += "Tools I can use here:\n";
    for (const auto& t : tools) {
      const auto first = detail::SplitSentences(t.description);
      out += "- " + t.name + (first.empty() ? "" : ": " + first.front()) + "\n";
    }
    out += "\nAsk me to search for something, remember a fact, recall an earlier conversation or "
           "read a file, and I will call the matching tool.\n";
  }
  out += "For real answers, configure an `openai` or `anthropic` provider in steward.yaml.\n";
  return out;
}

// The turn's tool calls with their outcomes, in the order their results arrived.
std::vector<detail::TurnCall> TurnCalls(const Conversation& c) {
  std::vector<detail::TurnCall> calls;
  for (const auto& r : c.tool_results) {
    detail::TurnCall call;
    call.name = r.tool;
    call.failed = detail::ReadToolResult(r.tool, *r.content).state == ToolOutcome::State::kError;
    if (const auto it = c.turn_calls.find(r.call_id); it != c.turn_calls.end()) {
      call.arguments = it->second.arguments;
      call.step = it->second.step;
    }
    calls.push_back(std::move(call));
  }
  return calls;
}

// `fallback_from`: the failed web tool whose fallback (local documents) ran, or "".
std::string ToolResultAnswer(const Conversation& c, const std::vector<detail::Span>& date_spans,
                             const detail::NormalizedText& question, const std::string& fallback_from) {
  std::vector<ToolOutcome> outcomes;
  for (const auto& r : c.tool_results) outcomes.push_back(detail::ReadToolResult(r.tool, *r.content));

  std::string saved;  // facts stored by remember tools
  std::vector<Evidence> evidence;
  std::vector<std::string> tried;
  for (const auto& o : outcomes) {
    const auto words = detail::Words(o.tool);
    const bool stores = !words.empty() && words.back() == "remember";
    switch (o.state) {
      case ToolOutcome::State::kResults:
        if (stores) {
          saved += "I saved this to memory with " + o.tool + ": \"" + detail::ExtractFact(question) + "\".\n";
        } else {
          evidence.insert(evidence.end(), o.items.begin(), o.items.end());
        }
        tried.push_back(o.tool + " (" + std::to_string(o.items.size()) + " result" +
                        (o.items.size() == 1 ? "" : "s") + ")");
        break;
      case ToolOutcome::State::kEmpty:
        tried.push_back(o.tool + " (no results)");
        break;
      case ToolOutcome::State::kError:
        tried.push_back(o.tool + " (failed: " + o.error + ")");
        break;
    }
  }
  std::string tried_line;
  for (const auto& t : tried) tried_line += (tried_line.empty() ? "" : ", ") + t;

  const std::string fallback_note =
      fallback_from.empty() ? "" : "(used fallback: local documents, because " + fallback_from + " failed)\n";
  const std::string topic = detail::Join(detail::TopicWords(question, date_spans));
  if (evidence.empty() && saved.empty()) {
    return "I found nothing" + (topic.empty() ? std::string() : " about \"" + topic + "\"") +
           ". Tried: " + (tried_line.empty() ? "no tools" : tried_line) + ".\n" + fallback_note;
  }
  std::string out = saved;
  if (!evidence.empty()) {
    const auto extract = detail::ExtractAnswer(evidence, detail::Terms(question.original), {});
    if (!out.empty()) out += "\n";
    if (extract.matched) {
      out += "From what the tools returned:\n";
    } else if (detail::Terms(question.original).empty()) {
      out += "Here is what the tools returned:\n";
    } else {
      out += "None of the results mention your words directly; here is what came back:\n";
    }
    out += Bullets(extract.lines) + SourcesBlock(extract.sources);
  }
  const bool any_failed = std::any_of(outcomes.begin(), outcomes.end(), [](const auto& o) {
    return o.state != ToolOutcome::State::kResults;
  });
  if (any_failed) out += "\nTried: " + tried_line + ".\n";
  if (!fallback_note.empty()) out += fallback_note;
  return out;
}

std::string NoToolAnswer(const Conversation& c, const std::vector<detail::OfferedTool>& tools) {
  const auto terms = detail::Terms(c.question);
  if (!terms.empty() && !c.history.empty()) {
    detail::ExtractOptions options;
    options.max_sentences = 3;
    options.min_score = std::max<size_t>(1, (terms.size() + 2) / 3);  // a third of the terms
    options.fall_back_to_first = false;
    const auto extract = detail::ExtractAnswer(c.history, terms, options);
    if (extract.matched) {
      return "Earlier in this conversation:\n" + Bullets(extract.lines) + SourcesBlock(extract.sources);
    }
  }
  std::string out = "I can't answer that: I am not a language model, ";
  if (tools.empty()) {
    out += "and I have no tools in this conversation.";
  } else {
    out += "and none of the tools offered here (" + ToolList(tools) + ") matches your request by my rules.";
  }
  out += " Try asking me to search, remember, recall an earlier conversation or read a file, or "
         "configure an LLM provider.\n";
  return out;
}

// Splits text into chunks of kWordsPerChunk words; whitespace stays with the word after it, so
// the chunks concatenate to the text exactly.
std::vector<std::string> SplitIntoChunks(const std::string& text) {
  std::vector<std::string> chunks;
  size_t start = 0;
  size_t words = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool word_start = text[i] != ' ' && text[i] != '\n' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n');
    if (!word_start) continue;
    if (words == OfflineProvider::kWordsPerChunk) {
      chunks.push_back(text.substr(start, i - start));
      start = i;
      words = 0;
    }
    ++words;
  }
  if (start < text.size()) chunks.push_back(text.substr(start));
  return chunks;
}

}  // namespace

OfflineProvider::OfflineProvider(ProviderConfig config, TodayFn today)
    : config_(std::move(config)), today_(today ? std::move(today) : TodayFn(LocalToday)) {}

Result<ChatResult> OfflineProvider::Complete(const ChatRequest& request, const ChunkSink& sink) {
  const std::string context = "provider " + (config_.name.empty() ? std::string("offline") : config_.name);
  try {
    const Conversation c = ReadConversation(request.messages);
    const auto tools = detail::ParseTools(request.tools);
    const detail::NormalizedText question = detail::Normalize(c.question);
    const auto today = today_();

    ChunkAccumulator acc;
    size_t completion_bytes = 0;
    auto emit = [&](const ChatChunk& chunk) {
      acc.Add(chunk);
      return !sink || sink(chunk);
    };
    auto cancelled = [&] { return MakeError(ErrorCode::kCancelled, "the client stopped reading the stream", context); };

    std::vector<detail::PlannedCall> calls;
    const bool tools_allowed = !(request.tool_choice.is_string() && request.tool_choice == "none");
    if (c.last_role == "user" && tools_allowed && !tools.empty() && !detail::IsCapabilityQuestion(question)) {
      const Json& choice = request.tool_choice;
      if (choice.is_object() && choice.contains("function") && choice["function"].is_object()) {
        const std::string forced = choice["function"].value("name", "");
        for (const auto& t : tools) {
          if (t.name != forced) continue;
          if (auto call = detail::PlanForcedCall(question, t, today)) calls.push_back(std::move(*call));
        }
      } else {
        calls = detail::PlanToolCalls(question, tools, today);
        if (calls.empty() && choice.is_string() && choice == "required") {
          for (const auto& t : tools) {
            if (auto call = detail::PlanForcedCall(question, t, today)) {
              calls.push_back(std::move(*call));
              break;
            }
          }
        }
      }
    } else if (c.last_role == "tool" && tools_allowed && !tools.empty()) {
      // A web tool failed (web down): look in the local documents before answering.
      if (auto call = detail::PlanFallbackCall(question, tools, TurnCalls(c), today)) {
        calls.push_back(std::move(*call));
      }
    }

    if (!calls.empty()) {
      for (size_t k = 0; k < calls.size(); ++k) {
        const std::string arguments = calls[k].arguments.dump();
        completion_bytes += calls[k].name.size() + arguments.size();
        ChatChunk head;
        head.tool_calls.push_back({{"index", k},
                                   {"id", "call_" + std::to_string(c.prior_tool_calls + k + 1)},
                                   {"type", "function"},
                                   {"function", {{"name", calls[k].name}, {"arguments", ""}}}});
        if (!emit(head)) return cancelled();
        ChatChunk args;
        args.tool_calls.push_back({{"index", k}, {"function", {{"arguments", arguments}}}});
        if (!emit(args)) return cancelled();
      }
      ChatChunk last;
      last.finish_reason = "tool_calls";
      if (!emit(last)) return cancelled();
    } else {
      std::string answer;
      // What the request needs that no offered tool can do: answered as far as possible, and
      // reported in a tool-gap block at the very end.
      std::vector<detail::ToolGap> gaps;
      if (c.has_question && !detail::IsCapabilityQuestion(question)) gaps = detail::FindToolGaps(question, tools);
      if (!c.has_question) {
        answer = "I received no user message to answer.\n";
      } else if (c.last_role == "tool") {
        answer = ToolResultAnswer(c, detail::ParseTimeRange(question, today).spans, question,
                                  detail::FallbackFrom(TurnCalls(c)));
        if (!gaps.empty()) answer += "\n" + detail::ToolGapAnswer(gaps, tools);
      } else if (detail::IsCapabilityQuestion(question)) {
        answer = CapabilityAnswer(tools);
      } else {
        answer = gaps.empty() ? NoToolAnswer(c, tools) : detail::ToolGapAnswer(gaps, tools);
      }
      answer += "\n";
      answer += kHonestyLine;
      if (!gaps.empty()) {
        answer += "\n\n" + detail::ToolGapBlock(detail::BuildToolGapReport(question, gaps, tools));
      }
      completion_bytes = answer.size();
      for (auto& piece : SplitIntoChunks(answer)) {
        ChatChunk chunk;
        chunk.content = std::move(piece);
        if (!emit(chunk)) return cancelled();
      }
      ChatChunk last;
      last.finish_reason = "stop";
      if (!emit(last)) return cancelled();
    }
    acc.SetUsage({ApproxTokens(PromptBytes(request)), ApproxTokens(completion_bytes)});
    return std::move(acc).Finish();
  } catch (const std::exception& e) {
    // Requests are validated by the gateway; reaching this is a bug, not bad input.
    return MakeError(ErrorCode::kInternal, std::string("offline provider failed: ") + e.what(), context);
  }
}

}  // namespace steward::models
