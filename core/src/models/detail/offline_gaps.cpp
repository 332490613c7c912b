#include "models/detail/offline_gaps.hpp"

#include <algorithm>
#include <functional>

#include "models/detail/offline_extract.hpp"

namespace steward::models::detail {

namespace {

using WordList = std::vector<std::string>;

bool Has(const WordList& words, std::string_view w) { return std::find(words.begin(), words.end(), w) != words.end(); }

bool HasAny(const WordList& words, std::initializer_list<std::string_view> any) {
  return std::any_of(any.begin(), any.end(), [&](std::string_view w) { return Has(words, w); });
}

bool HasPhrase(const NormalizedText& text, std::initializer_list<std::string_view> phrases) {
  return std::any_of(phrases.begin(), phrases.end(),
                     [&](std::string_view p) { return FindPhrase(text.lower, p) != std::string_view::npos; });
}

// The email addresses in the text, in order.
std::vector<std::string> EmailAddresses(const std::string& original) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < original.size()) {
    while (i < original.size() && original[i] == ' ') ++i;
    size_t b = i;
    while (i < original.size() && original[i] != ' ') ++i;
    size_t e = i;
    while (b < e && std::string_view("\"'<([").find(original[b]) != std::string_view::npos) ++b;
    while (e > b && std::string_view("\"'>)],.;:!?").find(original[e - 1]) != std::string_view::npos) --e;
    const std::string_view token = std::string_view(original).substr(b, e - b);
    const size_t at = token.find('@');
    if (at != std::string_view::npos && at > 0 && token.find('.', at) != std::string_view::npos &&
        token.find("://") == std::string_view::npos) {
      out.emplace_back(token);
    }
  }
  return out;
}

// What the user wants said: the text after "saying", "that says", ":"…, else the request.
std::string MessageBody(const NormalizedText& text) {
  for (std::string_view marker : {" saying ", " that says ", " to say ", " telling them ", " telling him ",
                                  " telling her ", " with the message ", ": "}) {
    const size_t at = text.lower.find(marker);
    if (at == std::string::npos) continue;
    std::string body = text.original.substr(at + marker.size());
    while (!body.empty() && (body.back() == ' ' || body.back() == '.')) body.pop_back();
    while (!body.empty() && (body.front() == '"' || body.front() == '\'')) body.erase(0, 1);
    while (!body.empty() && (body.back() == '"' || body.back() == '\'')) body.pop_back();
    if (!body.empty()) return body;
  }
  return text.original;
}

// The text between the first pair of backticks, or "".
std::string Backticked(const std::string& original) {
  const size_t open = original.find('`');
  if (open == std::string::npos) return "";
  const size_t close = original.find('`', open + 1);
  if (close == std::string::npos || close == open + 1) return "";
  return original.substr(open + 1, close - open - 1);
}

// One capability: when the text asks for it, when an offered tool covers it, what to propose.
struct Capability {
  std::string doing;
  std::function<bool(const NormalizedText&, const WordList&)> asked;
  std::function<bool(const OfferedTool&)> covered;
  std::function<ToolGap(const NormalizedText&, const WordList&)> propose;
};

bool NameHas(const OfferedTool& t, std::initializer_list<std::string_view> any) { return HasAny(t.name_words, any); }

Json Tool(std::string name, std::string description, Json inputs, Json outputs, std::string risk) {
  return {{"name", std::move(name)},     {"description", std::move(description)}, {"inputs", std::move(inputs)},
          {"outputs", std::move(outputs)}, {"estimated_risk", std::move(risk)}};
}

const std::vector<Capability>& Capabilities() {
  static const std::vector<Capability> kCapabilities = {
      {"send email",
       [](const NormalizedText& text, const WordList& w) {
         const bool noun = HasAny(w, {"email", "emails", "mail", "gmail"});
         return noun && (HasAny(w, {"send", "sending", "reply", "forward", "compose", "write"}) ||
                         !EmailAddresses(text.original).empty() || (!w.empty() && (w[0] == "email" || w[0] == "mail")));
       },
       [](const OfferedTool& t) {
         return NameHas(t, {"email", "mail", "smtp", "gmail"}) && NameHas(t, {"send", "reply", "forward"});
       },
       [](const NormalizedText& text, const WordList&) {
         ToolGap g;
         const auto to = EmailAddresses(text.original);
         std::string recipients;
         for (const auto& a : to) recipients += (recipients.empty() ? "" : ", ") + a;
         const std::string body = MessageBody(text);
         g.attempted = "drafted the email for the user to send";
         g.attempt = "Here is a draft you can send yourself:\n\nTo: " +
                     (recipients.empty() ? std::string("(recipient)") : recipients) + "\n\n" + body + "\n";
         g.missing_tool = Tool("email.send", "Send an email over SMTP to an allowlisted recipient.",
                               {{"to", "string (email address)"}, {"subject", "string"}, {"body", "string"}},
                               {{"message_id", "string"}, {"accepted", "array of string (recipients)"}}, "high");
         g.server = "email";
         g.server_description = "Sends and drafts email over SMTP (Steward's built-in email tools: configure "
                                "tools.email in steward.yaml and allow the agent email.*).";
         return g;
       }},
      {"post messages to a chat service",
       [](const NormalizedText& text, const WordList& w) {
         return (HasAny(w, {"slack", "discord", "telegram", "whatsapp", "mattermost", "sms"}) &&
                 HasAny(w, {"post", "send", "message", "tell", "notify", "ping", "dm", "text", "share", "announce"})) ||
                HasPhrase(text, {"text message", "send a text", "send an sms"});
       },
       [](const OfferedTool& t) {
         return NameHas(t, {"slack", "discord", "telegram", "whatsapp", "mattermost", "sms", "chat"}) &&
                NameHas(t, {"post", "send", "message"});
       },
       [](const NormalizedText& text, const WordList& w) {
         ToolGap g;
         std::string platform = "slack";
         for (std::string_view p : {"slack", "discord", "telegram", "whatsapp", "mattermost", "sms"}) {
           if (Has(w, p)) {
             platform = std::string(p);
             break;
           }
         }
         g.attempted = "wrote the message for the user to post";
         g.attempt = "Here is the message you can post yourself:\n\n" + MessageBody(text) + "\n";
         g.missing_tool = Tool(platform + ".post_message", "Post a message to a " + platform + " channel or person.",
                               {{"channel", "string (channel or user)"}, {"text", "string"}},
                               {{"message_id", "string"}, {"timestamp", "string"}}, "high");
         g.server = platform;
         g.server_description = "Posts messages to " + platform + " with a bot token (an MCP server for " +
                                platform + "'s API).";
         return g;
       }},
      {"buy things",
       [](const NormalizedText& text, const WordList&) {
         return HasPhrase(text, {"buy", "purchase", "order me", "order a", "order an", "order some",
                                 "place an order", "pay for", "check out my cart"});
       },
       [](const OfferedTool& t) { return NameHas(t, {"buy", "purchase", "order", "checkout", "shop", "cart", "payment"}); },
       [](const NormalizedText&, const WordList&) {
         ToolGap g;
         g.attempted = "explained what is missing; nothing was bought";
         g.missing_tool = Tool("shop.purchase", "Buy an item from a configured shop, within a spending limit.",
                               {{"item", "string"}, {"quantity", "integer"}, {"max_price", "number"}},
                               {{"order_id", "string"}, {"total", "number"}, {"status", "string"}}, "high");
         g.server = "shop";
         g.server_description = "Places orders with a shop's API under a spending limit (every call needs approval).";
         return g;
       }},
      {"make bookings",
       [](const NormalizedText& text, const WordList&) {
         return HasPhrase(text, {"book a", "book an", "book me", "book us", "book my", "book tickets", "reserve",
                                 "make a reservation", "booking"});
       },
       [](const OfferedTool& t) { return NameHas(t, {"book", "booking", "reserve", "reservation"}); },
       [](const NormalizedText&, const WordList&) {
         ToolGap g;
         g.attempted = "explained what is missing; nothing was booked";
         g.missing_tool = Tool("booking.reserve", "Reserve a table, ticket, room or flight.",
                               {{"what", "string (restaurant, flight, hotel, ...)"}, {"when", "string (date-time)"},
                                {"party_size", "integer"}, {"budget", "number"}},
                               {{"confirmation", "string"}, {"details", "string"}}, "high");
         g.server = "booking";
         g.server_description = "Makes reservations through a booking provider's API (spends money: approval needed).";
         return g;
       }},
      {"manage your calendar",
       [](const NormalizedText& text, const WordList& w) {
         return HasPhrase(text, {"schedule a meeting", "schedule a call", "set up a meeting", "create an event",
                                 "calendar invite", "calendar event"}) ||
                (Has(w, "calendar") && HasAny(w, {"add", "put", "create", "schedule", "set"}));
       },
       [](const OfferedTool& t) { return NameHas(t, {"calendar", "event", "events", "meeting"}); },
       [](const NormalizedText&, const WordList&) {
         ToolGap g;
         g.attempted = "explained what is missing; no event was created";
         g.missing_tool = Tool("calendar.create_event", "Create an event in the user's calendar and invite attendees.",
                               {{"title", "string"}, {"start", "string (date-time)"}, {"end", "string (date-time)"},
                                {"attendees", "array of string (email addresses)"}},
                               {{"event_id", "string"}, {"link", "string"}}, "medium");
         g.server = "calendar";
         g.server_description = "Reads and writes the user's calendar over CalDAV or a calendar API.";
         return g;
       }},
      {"run commands",
       [](const NormalizedText& text, const WordList&) {
         return HasPhrase(text, {"run the command", "run a command", "run command", "run this command",
                                 "execute the command", "execute this command", "execute a command", "shell",
                                 "terminal", "bash", "command line", "run the script", "run this script",
                                 "run a script", "sudo"});
       },
       [](const OfferedTool& t) { return NameHas(t, {"shell", "exec", "execute", "command", "bash", "terminal", "subprocess"}); },
       [](const NormalizedText& text, const WordList&) {
         ToolGap g;
         const std::string command = Backticked(text.original);
         g.attempted = "explained what is missing; no command was run";
         if (!command.empty()) g.attempt = "You can run it yourself:\n\n    " + command + "\n";
         g.missing_tool = Tool("shell.run_command", "Run a shell command in a sandboxed working directory.",
                               {{"command", "string"}, {"cwd", "string (directory)"}, {"timeout_s", "integer"}},
                               {{"exit_code", "integer"}, {"stdout", "string"}, {"stderr", "string"}}, "high");
         g.server = "shell";
         g.server_description = "Runs commands in a sandbox (container or restricted user); every call needs approval.";
         return g;
       }},
      {"read web pages",
       [](const NormalizedText& text, const WordList&) { return FindUrl(text).has_value(); },
       [](const OfferedTool& t) { return NameHas(t, {"fetch", "web", "url", "browse", "http", "scrape", "download"}); },
       [](const NormalizedText&, const WordList&) {
         ToolGap g;
         g.attempted = "explained what is missing; the page was not read";
         g.missing_tool = Tool("web.fetch", "Fetch a web page and return its readable text.",
                               {{"url", "string (http or https URL)"}},
                               {{"title", "string"}, {"text", "string"}}, "medium");
         g.server = "web";
         g.server_description = "Web search and page fetching (Steward's built-in web tools: allow the agent web.*).";
         return g;
       }},
      {"search the web",
       [](const NormalizedText& text, const WordList&) {
         return HasPhrase(text, {"search the web", "search online", "on the web", "on the internet", "google",
                                 "web search", "look it up online", "browse the web"});
       },
       [](const OfferedTool& t) { return NameHas(t, {"web", "google", "bing", "searx", "searxng", "internet"}); },
       [](const NormalizedText&, const WordList&) {
         ToolGap g;
         g.attempted = "answered from what was available without the web";
         g.missing_tool = Tool("web.search", "Search the web and return result titles, URLs and snippets.",
                               {{"query", "string"}, {"limit", "integer"}},
                               {{"results", "array of {title, url, snippet}"}}, "medium");
         g.server = "web";
         g.server_description = "Web search and page fetching (Steward's built-in web tools: allow the agent web.*).";
         return g;
       }},
      {"write files",
       [](const NormalizedText& text, const WordList& w) {
         return FindPath(text).has_value() && HasAny(w, {"write", "save", "create", "append", "edit", "overwrite"});
       },
       [](const OfferedTool& t) {
         return NameHas(t, {"write", "edit", "create", "save", "append"}) && NameHas(t, {"file", "files", "fs", "filesystem"});
       },
       [](const NormalizedText&, const WordList&) {
         ToolGap g;
         g.attempted = "explained what is missing; no file was written";
         g.missing_tool = Tool("fs.write_file", "Create or overwrite a file under the allowed folders.",
                               {{"path", "string (absolute path)"}, {"content", "string"}},
                               {{"written", "boolean"}}, "high");
         g.server = "fs";
         g.server_description = "The official @modelcontextprotocol/server-filesystem confined to files.roots in "
                                "steward.yaml (allow the agent fs.*).";
         return g;
       }},
  };
  return kCapabilities;
}

std::string ToolNames(const std::vector<OfferedTool>& tools) {
  std::string out;
  for (const auto& t : tools) out += (out.empty() ? "" : ", ") + t.name;
  return out;
}

}  // namespace

std::vector<ToolGap> FindToolGaps(const NormalizedText& text, const std::vector<OfferedTool>& tools) {
  std::vector<ToolGap> gaps;
  const WordList words = Words(text.lower);
  for (const auto& capability : Capabilities()) {
    if (!capability.asked(text, words)) continue;
    if (std::any_of(tools.begin(), tools.end(), capability.covered)) continue;
    ToolGap gap = capability.propose(text, words);
    gap.doing = capability.doing;
    gaps.push_back(std::move(gap));
  }
  return gaps;
}

Json BuildToolGapReport(const NormalizedText& text, const std::vector<ToolGap>& gaps,
                        const std::vector<OfferedTool>& tools) {
  Json missing = Json::array();
  Json names = Json::array();
  std::string attempted;
  for (const auto& g : gaps) {
    missing.push_back(g.missing_tool);
    names.push_back(g.missing_tool["name"]);
    attempted += (attempted.empty() ? "" : "; ") + g.attempted;
  }
  std::string doing;
  for (size_t i = 0; i < gaps.size(); ++i) {
    doing += (i == 0 ? "" : i + 1 == gaps.size() ? " or " : ", ") + gaps[i].doing;
  }
  Json checked = Json::array();
  if (tools.empty()) {
    checked.push_back({{"name", "tools/list"}, {"evidence", "tools/list offered no tools to this agent"}});
  } else {
    for (const auto& t : tools) {
      const auto sentences = SplitSentences(t.description);
      std::string evidence = "offered by tools/list; cannot " + doing;
      if (!sentences.empty()) evidence += " (" + sentences.front() + ")";
      checked.push_back({{"name", t.name}, {"evidence", evidence}});
    }
  }
  std::string task = text.original;
  if (task.size() > 300) task = task.substr(0, 300) + "…";
  return {{"task", task},
          {"attempted", attempted},
          {"missing_tools", missing},
          {"existing_tools_checked", checked},
          {"proposed_mcp_server",
           {{"name", gaps.front().server},
            {"description", gaps.front().server_description},
            {"transport", "stdio"},
            {"tools", names}}}};
}

std::string ToolGapAnswer(const std::vector<ToolGap>& gaps, const std::vector<OfferedTool>& tools) {
  std::string out;
  std::string missing;
  for (const auto& g : gaps) {
    out += "I can't " + g.doing + " here: ";
    out += tools.empty() ? "I have no tools in this conversation.\n"
                         : "none of the tools offered to me (" + ToolNames(tools) + ") can.\n";
    missing += (missing.empty() ? "" : ", ") + g.missing_tool["name"].get<std::string>();
  }
  for (const auto& g : gaps) {
    if (!g.attempt.empty()) out += "\n" + g.attempt;
  }
  out += "\nI filed a tool-gap report describing what is missing (" + missing +
         "), so it can be added; `steward tools gaps` lists it.\n";
  return out;
}

std::string ToolGapBlock(const Json& report) {
  return "```steward-tool-gap\n" + report.dump(2, ' ', false, Json::error_handler_t::replace) + "\n```\n";
}

}  // namespace steward::models::detail
