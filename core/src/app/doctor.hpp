#pragma once
// `steward doctor`: checks every part Steward needs and says what is wrong and how to fix it.

#include <ostream>
#include <string>

namespace steward::app {

// Prints one line per check ("ok", "warn" or "FAIL" with the reason). Returns 0 when nothing
// failed, 1 otherwise.
int RunDoctor(const std::string& config_flag, std::ostream& out);

}  // namespace steward::app
