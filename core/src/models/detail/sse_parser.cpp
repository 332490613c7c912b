#include "models/detail/sse_parser.hpp"

#include <utility>

namespace steward::models::detail {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

bool SseParser::Feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (overflowed_) return false;
  if (at_start_) {
    // The BOM may itself arrive split across feeds: hold back a prefix of it.
    line_.append(bytes);
    if (line_.size() < kBom.size() && kBom.substr(0, line_.size()) == line_) return true;
    at_start_ = false;
    std::string buffered = std::move(line_);
    line_.clear();
    std::string_view rest = buffered;
    if (rest.substr(0, kBom.size()) == kBom) rest.remove_prefix(kBom.size());
    return Feed(rest, out);
  }
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (bytes[pos] == '\n') {
        ++pos;
        continue;
      }
    }
    const size_t end = bytes.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      break;
    }
    std::string_view line = bytes.substr(pos, end - pos);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    skip_lf_ = bytes[end] == '\r';
    if (line.size() > kMaxEventBytes) {
      overflowed_ = true;
      return false;
    }
    ProcessLine(line, out);
    line_.clear();
    pos = end + 1;
  }
  if (line_.size() > kMaxEventBytes || pending_.data.size() > kMaxEventBytes) {
    overflowed_ = true;
    return false;
  }
  return !overflowed_;
}

void SseParser::ProcessLine(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    if (has_data_) {
      if (!pending_.data.empty() && pending_.data.back() == '\n') pending_.data.pop_back();
      pending_.id = last_id_;
      out.push_back(std::move(pending_));
    }
    pending_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alives)
  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    pending_.data.append(value);
    pending_.data.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" and unknown fields are ignored: reconnection is the caller's business.
}

std::optional<SseEvent> SseParser::Finish() {
  if (overflowed_) return std::nullopt;
  if (at_start_) {
    at_start_ = false;
    if (line_.empty() || kBom.substr(0, line_.size()) == line_) line_.clear();
  }
  std::vector<SseEvent> out;
  if (!line_.empty()) {
    std::string line = std::move(line_);
    line_.clear();
    ProcessLine(line, out);
  }
  skip_lf_ = false;
  ProcessLine("", out);
  if (out.empty()) return std::nullopt;
  return std::move(out.front());
}

}  // namespace steward::models::detail
