#include "common/result.hpp"

#include <array>

namespace steward {

namespace {
// Indexed by ErrorCode; keep in the enum's order.
constexpr std::array<ErrorInfo, 11> kErrorTable = {{
    {"invalid_argument", 400, -32602, "failed"},
    {"config_error", 500, -32603, "failed"},
    {"not_found", 404, -32601, "failed"},
    {"unauthenticated", 401, -32001, "failed"},
    {"permission_denied", 403, -32003, "denied"},
    {"conflict", 409, -32004, "failed"},
    {"unavailable", 503, -32005, "failed"},
    {"deadline_exceeded", 504, -32006, "timed_out"},
    {"cancelled", 499, -32800, "cancelled"},
    {"budget_exceeded", 402, -32007, "failed"},
    {"internal", 500, -32603, "failed"},
}};
}  // namespace

const ErrorInfo& Describe(ErrorCode code) { return kErrorTable[static_cast<size_t>(code)]; }

}  // namespace steward
