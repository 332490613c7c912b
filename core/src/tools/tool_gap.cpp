#include "tools/tool_gap.hpp"

#include <cctype>

#include "tools/schema_validator.hpp"

namespace steward::tools {

namespace {

using nlohmann::json;

// Identical to docs/tool-gap-report.schema.json (tool_gap_test.cpp compares them).
constexpr std::string_view kSchemaText = R"steward_schema({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://steward.local/schemas/tool-gap-report.schema.json",
  "title": "Steward tool-gap report",
  "description": "What an agent could not do with the tools it had, specified well enough for a person to build the missing MCP tools. An agent emits it as a fenced ```steward-tool-gap block at the end of its answer; Steward validates it against this schema, stores it and shows it in the chat done event and `steward tools gaps`.",
  "type": "object",
  "required": ["task", "missing_tools", "existing_tools_checked", "proposed_mcp_server"],
  "properties": {
    "task": {
      "type": "string",
      "minLength": 1,
      "description": "The user's request, or the part of it that could not be done."
    },
    "attempted": {
      "type": "string",
      "description": "What the agent did instead (e.g. drafted the email for the user to send)."
    },
    "missing_tools": {
      "type": "array",
      "minItems": 1,
      "description": "Each capability the task needed that no offered tool provides.",
      "items": {
        "type": "object",
        "required": ["name", "description", "inputs", "outputs", "estimated_risk"],
        "properties": {
          "name": {"type": "string", "minLength": 1, "description": "Proposed namespaced tool name, e.g. email.send."},
          "description": {"type": "string", "minLength": 1, "description": "What the tool does and when to use it."},
          "inputs": {
            "type": "object",
            "description": "Argument name to its type, as a short type string (\"string\", \"enum(a, b)\") or a JSON Schema.",
            "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "object"}]}
          },
          "outputs": {
            "type": "object",
            "description": "Result field name to its type, like inputs.",
            "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "object"}]}
          },
          "estimated_risk": {
            "type": "string",
            "enum": ["low", "medium", "high"],
            "description": "The tier Steward's risk policy would likely give it (high: sends, deletes, spends, runs commands)."
          }
        }
      }
    },
    "existing_tools_checked": {
      "type": "array",
      "minItems": 1,
      "description": "Evidence that the offered tools were checked: what tools/list returned and why none fits. With zero tools, one entry naming tools/list.",
      "items": {
        "type": "object",
        "required": ["name", "evidence"],
        "properties": {
          "name": {"type": "string", "minLength": 1, "description": "A tool name from tools/list, or \"tools/list\" itself."},
          "evidence": {"type": "string", "minLength": 1, "description": "Why it does not cover the task."}
        }
      }
    },
    "proposed_mcp_server": {
      "type": "object",
      "required": ["name", "description", "tools"],
      "description": "The MCP server a person could build (or install) to fill the gap.",
      "properties": {
        "name": {"type": "string", "minLength": 1, "description": "Server name, the tools' namespace prefix."},
        "description": {"type": "string", "minLength": 1},
        "transport": {"type": "string", "enum": ["stdio", "streamable-http"]},
        "tools": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "configuration": {
          "type": "object",
          "description": "Settings it would need (environment variables, allowlists), name to description.",
          "additionalProperties": {"type": "string"}
        }
      }
    }
  }
}
)steward_schema";

constexpr size_t kMaxViolations = 20;

bool LineStartsAt(std::string_view text, size_t pos) { return pos == 0 || text[pos - 1] == '\n'; }

// The position of the last "```steward-tool-gap" that opens a line, or npos.
size_t LastOpeningFence(std::string_view text) {
  const std::string opening = "```" + std::string(kToolGapFence);
  size_t pos = text.rfind(opening);
  while (pos != std::string_view::npos) {
    const size_t after = pos + opening.size();
    const bool line_end = after == text.size() || text[after] == '\n' || text[after] == '\r' ||
                          text[after] == ' ';
    // Tolerate indentation before the fence, as Markdown does.
    size_t line_start = pos;
    while (line_start > 0 && (text[line_start - 1] == ' ' || text[line_start - 1] == '\t')) --line_start;
    if (line_end && LineStartsAt(text, line_start)) return pos;
    if (pos == 0) break;
    pos = text.rfind(opening, pos - 1);
  }
  return std::string_view::npos;
}

}  // namespace

const json& ToolGapSchema() {
  static const json schema = json::parse(kSchemaText);
  return schema;
}

std::vector<std::string> ValidateToolGapReport(const json& report) {
  std::vector<std::string> errors;
  for (const auto& v : FindSchemaViolations(ToolGapSchema(), report, "report", kMaxViolations)) {
    errors.push_back(v.path + ": " + v.message);
  }
  return errors;
}

std::optional<ToolGapReport> ExtractToolGapReport(std::string_view answer) {
  const size_t fence = LastOpeningFence(answer);
  if (fence == std::string_view::npos) return std::nullopt;
  size_t body = answer.find('\n', fence);
  body = body == std::string_view::npos ? answer.size() : body + 1;
  size_t end = answer.size();
  for (size_t pos = answer.find("```", body); pos != std::string_view::npos; pos = answer.find("```", pos + 3)) {
    size_t line_start = pos;
    while (line_start > body && (answer[line_start - 1] == ' ' || answer[line_start - 1] == '\t')) --line_start;
    if (LineStartsAt(answer, line_start)) {
      end = pos;
      break;
    }
  }
  std::string_view block = answer.substr(body, end - body);
  while (!block.empty() && std::isspace(static_cast<unsigned char>(block.back()))) block.remove_suffix(1);
  const std::string text(block);
  ToolGapReport out;
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    out.report = {{"raw", text}};
    out.errors.push_back("report: the steward-tool-gap block is not valid JSON");
    return out;
  }
  out.errors = ValidateToolGapReport(parsed);
  out.valid = out.errors.empty();
  out.report = std::move(parsed);
  return out;
}

json ToJson(const StoredToolGapReport& s) {
  auto or_null = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  return {{"id", s.id},         {"run_id", or_null(s.run_id)}, {"session_id", or_null(s.session_id)},
          {"report", s.report}, {"valid", s.valid},            {"errors", s.errors},
          {"created_at", s.created_at}};
}

int64_t InsertToolGapReport(pqxx::transaction_base& tx, const std::string& run_id, const std::string& session_id,
                            const ToolGapReport& report) {
  const pqxx::row r = tx.exec_params1(
      "INSERT INTO tool_gap_report (run_id, session_id, report, valid, errors) "
      "VALUES (NULLIF($1, '')::uuid, NULLIF($2, '')::uuid, $3::jsonb, $4, $5::jsonb) RETURNING id",
      run_id, session_id, report.report.dump(-1, ' ', false, json::error_handler_t::replace), report.valid,
      json(report.errors).dump(-1, ' ', false, json::error_handler_t::replace));
  return r[0].as<int64_t>();
}

Result<std::vector<StoredToolGapReport>> ListToolGapReports(store::Database& db, int limit, int offset) {
  return db.Read([&](pqxx::read_transaction& tx) {
    std::vector<StoredToolGapReport> out;
    const pqxx::result rows = tx.exec_params(
        "SELECT id, coalesce(run_id::text, ''), coalesce(session_id::text, ''), report::text, valid, errors::text, "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
        "FROM tool_gap_report ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
        limit, offset);
    for (const auto& r : rows) {
      StoredToolGapReport s;
      s.id = r[0].as<int64_t>();
      s.run_id = r[1].as<std::string>();
      s.session_id = r[2].as<std::string>();
      s.report = json::parse(r[3].as<std::string>(), nullptr, false);
      s.valid = r[4].as<bool>();
      const json errors = json::parse(r[5].as<std::string>(), nullptr, false);
      if (errors.is_array()) {
        for (const auto& e : errors) {
          if (e.is_string()) s.errors.push_back(e.get<std::string>());
        }
      }
      s.created_at = r[6].as<std::string>();
      out.push_back(std::move(s));
    }
    return out;
  });
}

}  // namespace steward::tools
