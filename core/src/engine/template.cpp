#include "engine/template.hpp"

#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>

namespace steward::engine {
namespace {

using nlohmann::json;

struct Node {
  enum class Kind { kLiteral, kReference, kLength, kNot, kAnd, kOr, kCompare };
  Kind kind = Kind::kLiteral;
  json literal;
  TemplateReference ref;
  std::string op;  // kCompare
  std::vector<Node> kids;
};

Node MakeNode(Node::Kind kind) {
  Node node;
  node.kind = kind;
  return node;
}

Node LiteralNode(json value) {
  Node node;
  node.literal = std::move(value);
  return node;
}

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }
bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Error SyntaxError(std::string_view text, size_t pos, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument,
                   what + " at position " + std::to_string(pos) + " in '" + std::string(text) + "'");
}

// Recursive descent over `text` from `pos`. With `in_placeholder` the expression ends at the
// first '}' outside a string literal (the caller consumes it).
class Parser {
 public:
  Parser(std::string_view text, size_t pos) : text_(text), pos_(pos) {}

  Result<Node> ParseExpression() { return ParseOr(); }
  size_t pos() const { return pos_; }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  char Peek() {
    SkipSpace();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

 private:
  // Consumes `word` if it is next as a whole word.
  bool TakeKeyword(std::string_view word) {
    SkipSpace();
    if (text_.substr(pos_, word.size()) != word) return false;
    size_t end = pos_ + word.size();
    if (end < text_.size() && IsIdentChar(text_[end])) return false;
    if (end < text_.size() && text_[end] == '.') return false;  // a reference such as `not.x`? keep it a reference
    pos_ = end;
    return true;
  }

  Result<Node> ParseOr() {
    auto left = ParseAnd();
    if (!left.ok()) return left;
    Node node = std::move(left).value();
    while (TakeKeyword("or")) {
      auto right = ParseAnd();
      if (!right.ok()) return right;
      Node joined = MakeNode(Node::Kind::kOr);
      joined.kids.push_back(std::move(node));
      joined.kids.push_back(std::move(right).value());
      node = std::move(joined);
    }
    return node;
  }

  Result<Node> ParseAnd() {
    auto left = ParseNot();
    if (!left.ok()) return left;
    Node node = std::move(left).value();
    while (TakeKeyword("and")) {
      auto right = ParseNot();
      if (!right.ok()) return right;
      Node joined = MakeNode(Node::Kind::kAnd);
      joined.kids.push_back(std::move(node));
      joined.kids.push_back(std::move(right).value());
      node = std::move(joined);
    }
    return node;
  }

  Result<Node> ParseNot() {
    if (TakeKeyword("not")) {
      auto inner = ParseNot();
      if (!inner.ok()) return inner;
      Node node = MakeNode(Node::Kind::kNot);
      node.kids.push_back(std::move(inner).value());
      return node;
    }
    return ParseCompare();
  }

  std::optional<std::string> TakeCompareOp() {
    SkipSpace();
    for (std::string_view op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (text_.substr(pos_, op.size()) == op) {
        pos_ += op.size();
        return std::string(op);
      }
    }
    return std::nullopt;
  }

  Result<Node> ParseCompare() {
    auto left = ParsePrimary();
    if (!left.ok()) return left;
    auto op = TakeCompareOp();
    if (!op) return left;
    auto right = ParsePrimary();
    if (!right.ok()) return right;
    Node node = MakeNode(Node::Kind::kCompare);
    node.op = *op;
    node.kids.push_back(std::move(left).value());
    node.kids.push_back(std::move(right).value());
    return node;
  }

  Result<std::string> ParseStringLiteral() {
    char quote = text_[pos_];
    size_t start = pos_;
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
        char next = text_[pos_ + 1];
        switch (next) {
          case 'n': out.push_back('\n'); break;
          case 't': out.push_back('\t'); break;
          default: out.push_back(next); break;
        }
        pos_ += 2;
        continue;
      }
      out.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) return SyntaxError(text_, start, "unterminated string literal");
    ++pos_;
    return out;
  }

  Result<Node> ParseNumber() {
    size_t start = pos_;
    if (text_[pos_] == '-' || text_[pos_] == '+') ++pos_;
    bool digits = false;
    bool is_float = false;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        digits = true;
      } else if (c == '.' || c == 'e' || c == 'E') {
        is_float = true;
        if ((c == 'e' || c == 'E') && pos_ + 1 < text_.size() && (text_[pos_ + 1] == '-' || text_[pos_ + 1] == '+')) ++pos_;
      } else {
        break;
      }
      ++pos_;
    }
    if (!digits) return SyntaxError(text_, start, "expected a number");
    std::string token(text_.substr(start, pos_ - start));
    char* end = nullptr;
    Node node = MakeNode(Node::Kind::kLiteral);
    if (is_float) {
      double v = std::strtod(token.c_str(), &end);
      if (end != token.c_str() + token.size()) return SyntaxError(text_, start, "malformed number '" + token + "'");
      node.literal = v;
    } else {
      long long v = std::strtoll(token.c_str(), &end, 10);
      if (end != token.c_str() + token.size()) return SyntaxError(text_, start, "malformed number '" + token + "'");
      node.literal = v;
    }
    return node;
  }

  std::string TakeIdent() {
    size_t start = pos_;
    while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<Node> ParseReference() {
    size_t start = pos_;
    Node node = MakeNode(Node::Kind::kReference);
    node.ref.path.push_back(TakeIdent());
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '.') {
        ++pos_;
        std::string seg = TakeIdent();
        if (seg.empty()) return SyntaxError(text_, pos_, "expected a name after '.'");
        node.ref.path.push_back(std::move(seg));
      } else if (c == '[') {
        ++pos_;
        SkipSpace();
        if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'')) {
          auto key = ParseStringLiteral();
          if (!key.ok()) return key.error();
          node.ref.path.push_back(std::move(key).value());
        } else {
          size_t s = pos_;
          while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
          if (s == pos_) return SyntaxError(text_, s, "expected an index or a quoted key after '['");
          node.ref.path.emplace_back(text_.substr(s, pos_ - s));
        }
        SkipSpace();
        if (pos_ >= text_.size() || text_[pos_] != ']') return SyntaxError(text_, pos_, "expected ']'");
        ++pos_;
      } else {
        break;
      }
    }
    node.ref.text = std::string(text_.substr(start, pos_ - start));
    return node;
  }

  Result<Node> ParsePrimary() {
    SkipSpace();
    if (pos_ >= text_.size()) return SyntaxError(text_, pos_, "expected a value, got the end");
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      auto inner = ParseOr();
      if (!inner.ok()) return inner;
      if (Peek() != ')') return SyntaxError(text_, pos_, "expected ')'");
      ++pos_;
      return inner;
    }
    if (c == '$' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '{') {
      pos_ += 2;
      auto inner = ParseOr();
      if (!inner.ok()) return inner;
      if (Peek() != '}') return SyntaxError(text_, pos_, "expected '}'");
      ++pos_;
      return inner;
    }
    if (c == '"' || c == '\'') {
      auto s = ParseStringLiteral();
      if (!s.ok()) return s.error();
      return LiteralNode(std::move(s).value());
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') return ParseNumber();
    if (IsIdentStart(c)) {
      if (TakeKeyword("true")) return LiteralNode(true);
      if (TakeKeyword("false")) return LiteralNode(false);
      if (TakeKeyword("null")) return LiteralNode(nullptr);
      size_t save = pos_;
      std::string ident = TakeIdent();
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == '(') {
        if (ident != "length") return SyntaxError(text_, save, "unknown function '" + ident + "' (known: length)");
        ++pos_;
        auto arg = ParseOr();
        if (!arg.ok()) return arg;
        if (Peek() != ')') return SyntaxError(text_, pos_, "expected ')' after the argument of length");
        ++pos_;
        Node node = MakeNode(Node::Kind::kLength);
        node.kids.push_back(std::move(arg).value());
        return node;
      }
      pos_ = save;
      return ParseReference();
    }
    return SyntaxError(text_, pos_, std::string("unexpected '") + c + "'");
  }

  std::string_view text_;
  size_t pos_;
};

const char* TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a value";
  }
}

std::string KeysOf(const json& obj) {
  if (obj.empty()) return "none";
  std::string out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!out.empty()) out += ", ";
    out += it.key();
  }
  return out;
}

std::string Joined(const std::vector<std::string>& path, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < path.size(); ++i) {
    if (i > 0) out += ".";
    out += path[i];
  }
  return out;
}

Result<json> Resolve(const TemplateReference& ref, const json& context) {
  auto fail = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "unknown reference '" + ref.text + "': " + why);
  };
  const json* cur = &context;
  for (size_t i = 0; i < ref.path.size(); ++i) {
    const std::string& seg = ref.path[i];
    if (cur->is_object()) {
      auto it = cur->find(seg);
      if (it == cur->end()) {
        if (i == 0) return fail("the context has " + KeysOf(*cur));
        if (i == 1 && ref.path[0] == "steps") {
          return fail("no output of step '" + seg + "' yet (steps with output: " + KeysOf(*cur) + ")");
        }
        return fail("'" + Joined(ref.path, i) + "' has no key '" + seg + "' (keys: " + KeysOf(*cur) + ")");
      }
      cur = &*it;
    } else if (cur->is_array()) {
      if (!IsDigits(seg)) {
        return fail("'" + Joined(ref.path, i) + "' is an array; use an index such as [0], not '" + seg + "'");
      }
      size_t idx = std::strtoull(seg.c_str(), nullptr, 10);
      if (idx >= cur->size()) {
        return fail("'" + Joined(ref.path, i) + "' has " + std::to_string(cur->size()) + " element(s); index " +
                    seg + " is out of range");
      }
      cur = &(*cur)[idx];
    } else {
      return fail("'" + Joined(ref.path, i) + "' is " + TypeName(*cur) + ", which has no '" + seg + "'");
    }
  }
  return *cur;
}

Result<json> Evaluate(const Node& node, const json& context) {
  switch (node.kind) {
    case Node::Kind::kLiteral:
      return node.literal;
    case Node::Kind::kReference:
      return Resolve(node.ref, context);
    case Node::Kind::kLength: {
      auto v = Evaluate(node.kids[0], context);
      if (!v.ok()) return v;
      if (v->is_null()) return json(0);
      if (v->is_string()) return json(v->get_ref<const std::string&>().size());
      if (v->is_array() || v->is_object()) return json(v->size());
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("length() needs an array, an object or a string, got ") + TypeName(*v));
    }
    case Node::Kind::kNot: {
      auto v = Evaluate(node.kids[0], context);
      if (!v.ok()) return v;
      return json(!IsTruthy(*v));
    }
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      auto l = Evaluate(node.kids[0], context);
      if (!l.ok()) return l;
      bool lt = IsTruthy(*l);
      if (node.kind == Node::Kind::kAnd && !lt) return json(false);
      if (node.kind == Node::Kind::kOr && lt) return json(true);
      auto r = Evaluate(node.kids[1], context);
      if (!r.ok()) return r;
      return json(IsTruthy(*r));
    }
    case Node::Kind::kCompare: {
      auto l = Evaluate(node.kids[0], context);
      if (!l.ok()) return l;
      auto r = Evaluate(node.kids[1], context);
      if (!r.ok()) return r;
      const std::string& op = node.op;
      if (op == "==") return json(*l == *r);
      if (op == "!=") return json(*l != *r);
      int cmp = 0;
      if (l->is_number() && r->is_number()) {
        double a = l->get<double>();
        double b = r->get<double>();
        cmp = a < b ? -1 : (a > b ? 1 : 0);
      } else if (l->is_string() && r->is_string()) {
        int c = l->get_ref<const std::string&>().compare(r->get_ref<const std::string&>());
        cmp = c < 0 ? -1 : (c > 0 ? 1 : 0);
      } else {
        return MakeError(ErrorCode::kInvalidArgument, "cannot order " + std::string(TypeName(*l)) + " (" +
                                                          l->dump() + ") and " + TypeName(*r) + " (" + r->dump() +
                                                          ") with '" + op + "'; both must be numbers or strings");
      }
      if (op == "<") return json(cmp < 0);
      if (op == "<=") return json(cmp <= 0);
      if (op == ">") return json(cmp > 0);
      return json(cmp >= 0);
    }
  }
  return MakeError(ErrorCode::kInternal, "unhandled expression node");
}

void CollectReferences(const Node& node, std::vector<TemplateReference>& out) {
  if (node.kind == Node::Kind::kReference) out.push_back(node.ref);
  for (const Node& kid : node.kids) CollectReferences(kid, out);
}

Result<Node> ParseWhole(std::string_view expr) {
  Parser parser(expr, 0);
  if (parser.AtEnd()) return SyntaxError(expr, 0, "empty expression");
  auto node = parser.ParseExpression();
  if (!node.ok()) return node;
  if (!parser.AtEnd()) return SyntaxError(expr, parser.pos(), "unexpected text after the expression");
  return node;
}

// A template split into literal text and placeholders.
struct Piece {
  std::string literal;        // when !is_placeholder
  std::optional<Node> node;   // when a placeholder
};

Piece LiteralPiece(std::string text) {
  Piece piece;
  piece.literal = std::move(text);
  return piece;
}

Result<std::vector<Piece>> SplitTemplate(std::string_view text) {
  std::vector<Piece> pieces;
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      literal += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") == 0) {
      Parser parser(text, i + 2);
      if (parser.Peek() == '}') return SyntaxError(text, i, "empty placeholder '${}'");
      auto node = parser.ParseExpression();
      if (!node.ok()) return node.error();
      if (parser.Peek() != '}') return SyntaxError(text, parser.pos(), "expected '}' to close '${' opened at " + std::to_string(i));
      if (!literal.empty()) pieces.push_back(LiteralPiece(std::move(literal)));
      literal.clear();
      Piece piece;
      piece.node = std::move(node).value();
      pieces.push_back(std::move(piece));
      i = parser.pos() + 1;
      continue;
    }
    literal.push_back(text[i++]);
  }
  if (!literal.empty()) pieces.push_back(LiteralPiece(std::move(literal)));
  return pieces;
}

std::string NestContext(const std::string& outer, const std::string& inner) {
  if (inner.empty()) return outer;
  return inner[0] == '[' ? outer + inner : outer + "." + inner;
}

// JavaScript helpers, inlined so each expression stands alone (Windmill evaluates expressions,
// not modules).
constexpr std::string_view kJsTruthy =
    "((v) => !(v === null || v === undefined || v === false || v === 0 || v === '' || "
    "(typeof v === 'object' && (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0))))";
constexpr std::string_view kJsLength =
    "((v) => v === null || v === undefined ? 0 : (typeof v === 'object' && !Array.isArray(v) ? "
    "Object.keys(v).length : v.length))";
constexpr std::string_view kJsText = "((v) => typeof v === 'string' ? v : JSON.stringify(v))";

Result<std::string> ToJs(const Node& node, const JsReferenceMapper& reference) {
  auto kid = [&](size_t i) { return ToJs(node.kids[i], reference); };
  switch (node.kind) {
    case Node::Kind::kLiteral:
      return node.literal.dump();
    case Node::Kind::kReference:
      return reference(node.ref);
    case Node::Kind::kLength: {
      auto a = kid(0);
      if (!a.ok()) return a;
      return std::string(kJsLength) + "(" + *a + ")";
    }
    case Node::Kind::kNot: {
      auto a = kid(0);
      if (!a.ok()) return a;
      return "!" + std::string(kJsTruthy) + "(" + *a + ")";
    }
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      auto a = kid(0);
      if (!a.ok()) return a;
      auto b = kid(1);
      if (!b.ok()) return b;
      const char* op = node.kind == Node::Kind::kAnd ? " && " : " || ";
      return "(" + std::string(kJsTruthy) + "(" + *a + ")" + op + std::string(kJsTruthy) + "(" + *b + "))";
    }
    case Node::Kind::kCompare: {
      auto a = kid(0);
      if (!a.ok()) return a;
      auto b = kid(1);
      if (!b.ok()) return b;
      if (node.op == "==" || node.op == "!=") {
        // Structural equality, as JSON values compare in the core.
        std::string eq = "(JSON.stringify(" + *a + ") === JSON.stringify(" + *b + "))";
        return node.op == "==" ? eq : "!" + eq;
      }
      return "((" + *a + ") " + node.op + " (" + *b + "))";
    }
  }
  return MakeError(ErrorCode::kInternal, "unhandled expression node");
}

}  // namespace

Result<std::string> TemplateToJavaScript(std::string_view text, const JsReferenceMapper& reference) {
  auto pieces = SplitTemplate(text);
  if (!pieces.ok()) return pieces.error();
  if (pieces->size() == 1 && (*pieces)[0].node) return ToJs(*(*pieces)[0].node, reference);
  if (pieces->empty()) return std::string("\"\"");
  std::string out;
  for (const Piece& piece : *pieces) {
    if (!out.empty()) out += " + ";
    if (!piece.node) {
      out += json(piece.literal).dump();
      continue;
    }
    auto js = ToJs(*piece.node, reference);
    if (!js.ok()) return js;
    out += std::string(kJsText) + "(" + *js + ")";
  }
  return out;
}

Result<std::string> ConditionToJavaScript(std::string_view expr, const JsReferenceMapper& reference) {
  auto node = ParseWhole(expr);
  if (!node.ok()) return node.error();
  auto js = ToJs(*node, reference);
  if (!js.ok()) return js;
  return std::string(kJsTruthy) + "(" + *js + ")";
}

bool IsTruthy(const nlohmann::json& value) {
  switch (value.type()) {
    case json::value_t::null: return false;
    case json::value_t::boolean: return value.get<bool>();
    case json::value_t::number_integer: return value.get<long long>() != 0;
    case json::value_t::number_unsigned: return value.get<unsigned long long>() != 0;
    case json::value_t::number_float: return value.get<double>() != 0.0;
    case json::value_t::string: return !value.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object: return !value.empty();
    default: return true;
  }
}

bool HasPlaceholders(std::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      i += 2;
      continue;
    }
    if (text[i] == '$' && text[i + 1] == '{') return true;
  }
  return false;
}

Result<nlohmann::json> RenderTemplateString(std::string_view text, const nlohmann::json& context) {
  auto pieces = SplitTemplate(text);
  if (!pieces.ok()) return pieces.error();
  if (pieces->size() == 1 && (*pieces)[0].node) return Evaluate(*(*pieces)[0].node, context);
  std::string out;
  for (const Piece& piece : *pieces) {
    if (!piece.node) {
      out += piece.literal;
      continue;
    }
    auto v = Evaluate(*piece.node, context);
    if (!v.ok()) return v;
    if (v->is_string()) {
      out += v->get_ref<const std::string&>();
    } else {
      out += v->dump();
    }
  }
  return json(std::move(out));
}

Result<nlohmann::json> RenderTemplate(const nlohmann::json& value, const nlohmann::json& context) {
  if (value.is_string()) return RenderTemplateString(value.get_ref<const std::string&>(), context);
  if (value.is_object()) {
    json out = json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      auto v = RenderTemplate(it.value(), context);
      if (!v.ok()) return MakeError(v.error().code, v.error().message, NestContext(it.key(), v.error().context));
      out[it.key()] = std::move(v).value();
    }
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < value.size(); ++i) {
      auto v = RenderTemplate(value[i], context);
      if (!v.ok()) {
        return MakeError(v.error().code, v.error().message, NestContext("[" + std::to_string(i) + "]", v.error().context));
      }
      out.push_back(std::move(v).value());
    }
    return out;
  }
  return value;
}

Result<nlohmann::json> EvaluateExpression(std::string_view expr, const nlohmann::json& context) {
  auto node = ParseWhole(expr);
  if (!node.ok()) return node.error();
  return Evaluate(*node, context);
}

Result<bool> EvaluateCondition(std::string_view expr, const nlohmann::json& context) {
  auto v = EvaluateExpression(expr, context);
  if (!v.ok()) return v.error();
  return IsTruthy(*v);
}

Result<std::vector<TemplateReference>> ParseTemplateReferences(std::string_view text) {
  auto pieces = SplitTemplate(text);
  if (!pieces.ok()) return pieces.error();
  std::vector<TemplateReference> refs;
  for (const Piece& piece : *pieces) {
    if (piece.node) CollectReferences(*piece.node, refs);
  }
  return refs;
}

Result<std::vector<TemplateReference>> ParseConditionReferences(std::string_view expr) {
  auto node = ParseWhole(expr);
  if (!node.ok()) return node.error();
  std::vector<TemplateReference> refs;
  CollectReferences(*node, refs);
  return refs;
}

}  // namespace steward::engine
