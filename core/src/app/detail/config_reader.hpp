#pragma once
// The building blocks of the steward.yaml section parsers: a value with its key path, typed
// getters that substitute ${ENV} and say what was expected, and mappings that reject unknown
// and duplicate keys. A new top-level section is one parse function over these.

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "common/message_text.hpp"
#include "common/result.hpp"

namespace steward::app::detail {

using Keys = std::vector<std::string_view>;

// What every parse function shares: where the text came from (for messages), the directory
// relative paths start from, and the environment ${NAME} reads. Outlives every Field.
struct LoadContext {
  std::string source;
  std::filesystem::path base_dir;
  const EnvLookup* env = nullptr;
};

// One value in the file: its node (undefined when the key is absent), its key path
// ("agents.researcher.tools[0]") and the position to report (the parent's when absent).
struct Field {
  const LoadContext* ctx = nullptr;
  std::string path;
  YAML::Node node;
  YAML::Mark mark = YAML::Mark::null_mark();

  // Absent keys and explicit nulls (`url:`, `url: ~`) both mean "use the default".
  [[nodiscard]] bool present() const { return node.IsDefined() && !node.IsNull(); }

  // The field under `key` of this one, reported at `at`.
  [[nodiscard]] Field Child(std::string_view key, YAML::Node child, YAML::Mark at) const;

  // A kConfig error with context "<source>: <path> (line L, column C)".
  [[nodiscard]] Error Fail(std::string message) const;
};

// A string value after ${NAME} substitution. `shown` is what messages may quote: the text as
// written whenever a variable was read, so a secret never reaches a message or a log.
struct Scalar {
  std::string value;
  std::string shown;
};

// Replaces ${NAME} and ${NAME:-default} in `raw` (the default also applies when NAME is empty,
// as in sh); "$$" is a literal "$" and a "$" before anything else is kept as written.
[[nodiscard]] Result<Scalar> Substitute(const Field& f, const std::string& raw);

// The substituted text of a scalar field; `expected` names what a non-scalar should have been.
// Precondition: f.present().
[[nodiscard]] Result<Scalar> ReadScalar(const Field& f, std::string_view expected = "a string");

// The getters leave `out` untouched when the key is absent, so it keeps its default.
// `shown`, when given, receives the text messages may quote (see Scalar).
[[nodiscard]] Status GetString(const Field& f, std::string& out, std::string* shown = nullptr);
// A finite number in [lo, hi]; `expected` is the message's wording, e.g. "a number between 0 and 2".
[[nodiscard]] Status GetNumber(const Field& f, double lo, double hi, std::string_view expected,
                               double& out);
[[nodiscard]] Status GetInt(const Field& f, int lo, int hi, int& out);
// One word of `choices`; `noun` names it in messages ("provider kind").
[[nodiscard]] Status GetChoice(const Field& f, const Keys& choices, std::string_view noun,
                               std::string& out);
[[nodiscard]] Status GetStringList(const Field& f, std::vector<std::string>& out);

// The entries of one YAML mapping, in file order, with unknown and duplicate keys rejected.
class Mapping final {
 public:
  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    Field value;
  };

  // `known` lists the accepted keys; nullptr accepts any key (maps of names). An absent or
  // null field opens as an empty mapping.
  [[nodiscard]] static Result<Mapping> Open(const Field& f, const Keys* known);

  // The value under `key`; when absent, an undefined node reported at the mapping.
  [[nodiscard]] Field Get(std::string_view key) const;

  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

 private:
  Field self_;
  std::vector<Entry> entries_;
};

// Fails unless an entry's key is usable as a provider/model/agent name (`what`).
[[nodiscard]] Status CheckName(const Mapping::Entry& e, std::string_view what);

// Fails unless `name` is one of `defined` (the names under `section`:), listing them.
[[nodiscard]] Status CheckReference(const Field& f, const std::string& name, const std::string& shown,
                                    const Keys& defined, std::string_view noun,
                                    std::string_view section);

// The wording helpers every section parser uses (see common/message_text.hpp).
using steward::DidYouMean;
using steward::JoinList;
using steward::Quote;

}  // namespace steward::app::detail
