#include "tools/approval_store.hpp"

#include <cctype>

#include <pqxx/pqxx>

#include "tools/detail/sha256.hpp"

namespace steward::tools {

namespace {

using nlohmann::json;

#define STEWARD_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
constexpr const char* kColumns =
    "id::text, coalesce(run_id::text, ''), coalesce(session_id::text, ''), tool, arguments::text, "
    "arguments_hash, tier, reason, status, " STEWARD_TS("requested_at") ", "
    "coalesce(" STEWARD_TS("decided_at") ", ''), coalesce(decided_by, ''), coalesce(note, ''), escalated, "
    "coalesce(" STEWARD_TS("used_at") ", '')";
#undef STEWARD_TS

ApprovalRecord FromRow(const pqxx::row& r) {
  ApprovalRecord rec;
  rec.id = r[0].as<std::string>();
  rec.run_id = r[1].as<std::string>();
  rec.session_id = r[2].as<std::string>();
  rec.tool = r[3].as<std::string>();
  rec.arguments = json::parse(r[4].as<std::string>(), nullptr, false);
  rec.arguments_hash = r[5].as<std::string>();
  rec.tier = r[6].as<std::string>();
  rec.reason = r[7].as<std::string>();
  rec.status = ParseApprovalStatus(r[8].as<std::string>()).value_or(ApprovalStatus::kDenied);
  rec.requested_at = r[9].as<std::string>();
  rec.decided_at = r[10].as<std::string>();
  rec.decided_by = r[11].as<std::string>();
  rec.note = r[12].as<std::string>();
  rec.escalated = r[13].as<bool>();
  rec.used_at = r[14].as<std::string>();
  return rec;
}

Error NotFound(const std::string& id) {
  return MakeError(ErrorCode::kNotFound, "no approval with id " + id, "id");
}

// Sorted keys come from nlohmann's std::map objects; dump() without indent has no spaces.
// Invalid UTF-8 is replaced rather than thrown on: a hash must never fail.
std::string CanonicalJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string_view ApprovalStatusName(ApprovalStatus status) {
  switch (status) {
    case ApprovalStatus::kPending: return "pending";
    case ApprovalStatus::kApproved: return "approved";
    case ApprovalStatus::kDenied: return "denied";
    case ApprovalStatus::kExpired: return "expired";
  }
  return "denied";
}

std::optional<ApprovalStatus> ParseApprovalStatus(std::string_view name) {
  if (name == "pending") return ApprovalStatus::kPending;
  if (name == "approved") return ApprovalStatus::kApproved;
  if (name == "denied") return ApprovalStatus::kDenied;
  if (name == "expired") return ApprovalStatus::kExpired;
  return std::nullopt;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

json ToJson(const ApprovalRecord& r) {
  auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"id", r.id},
          {"run_id", or_null(r.run_id)},
          {"session_id", or_null(r.session_id)},
          {"tool", r.tool},
          {"arguments", r.arguments},
          {"arguments_hash", r.arguments_hash},
          {"tier", r.tier},
          {"reason", r.reason},
          {"status", ApprovalStatusName(r.status)},
          {"requested_at", r.requested_at},
          {"decided_at", or_null(r.decided_at)},
          {"decided_by", or_null(r.decided_by)},
          {"note", or_null(r.note)},
          {"escalated", r.escalated},
          {"used", !r.used_at.empty()}};
}

std::string ArgumentsHash(const json& arguments) { return detail::Sha256Hex(CanonicalJson(arguments)); }

Result<ApprovalRecord> PgApprovalStore::Insert(const ApprovalRecord& record) {
  return db_.Transact([&](pqxx::work& tx) {
    const pqxx::row r = tx.exec_params1(
        std::string("INSERT INTO approval (id, run_id, session_id, tool, arguments, arguments_hash, tier, reason) "
                    "VALUES ($1::uuid, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, $4, $5::jsonb, $6, $7, $8) "
                    "RETURNING ") + kColumns,
        record.id, record.run_id, record.session_id, record.tool, CanonicalJson(record.arguments),
        record.arguments_hash, record.tier, record.reason);
    return FromRow(r);
  });
}

Result<ApprovalRecord> PgApprovalStore::Decide(const std::string& id, ApprovalStatus status, const std::string& by,
                                               const std::string& note, bool escalated) {
  if (status == ApprovalStatus::kPending) {
    return MakeError(ErrorCode::kInternal, "an approval cannot be decided back to pending", id);
  }
  if (!IsUuid(id)) return NotFound(id);
  return db_.Transact([&](pqxx::work& tx) -> Result<ApprovalRecord> {
    const pqxx::result updated = tx.exec_params(
        std::string("UPDATE approval SET status = $2, decided_at = now(), decided_by = $3, "
                    "note = NULLIF($4, ''), escalated = $5 "
                    "WHERE id = $1::uuid AND status = 'pending' RETURNING ") + kColumns,
        id, std::string(ApprovalStatusName(status)), by, note, escalated);
    if (!updated.empty()) return FromRow(updated[0]);
    const pqxx::result current = tx.exec_params(
        "SELECT status, coalesce(decided_by, '') FROM approval WHERE id = $1::uuid", id);
    if (current.empty()) return NotFound(id);
    return MakeError(ErrorCode::kConflict,
                     "approval " + id + " was already decided: " + current[0][0].as<std::string>() + " by " +
                         current[0][1].as<std::string>(),
                     "id");
  });
}

Status PgApprovalStore::MarkUsed(const std::string& id, const std::string& run_id, const std::string& tool,
                                 const std::string& arguments_hash) {
  if (!IsUuid(id)) return NotFound(id);
  return db_.Transact([&](pqxx::work& tx) -> Status {
    // One statement checks every binding and consumes the approval, so no second call can.
    const pqxx::result r = tx.exec_params(
        "UPDATE approval SET used_at = now() WHERE id = $1::uuid AND status = 'approved' AND used_at IS NULL "
        "AND coalesce(run_id::text, '') = $2 AND tool = $3 AND arguments_hash = $4 RETURNING id",
        id, run_id, tool, arguments_hash);
    if (r.size() == 1) return Status::Ok();
    return MakeError(ErrorCode::kPermissionDenied,
                     "approval " + id + " does not cover this call: it is not approved, already used, or was "
                     "given for another run, tool or arguments",
                     tool);
  });
}

Result<ApprovalRecord> PgApprovalStore::Get(const std::string& id) {
  if (!IsUuid(id)) return NotFound(id);
  auto found = db_.Read([&](pqxx::read_transaction& tx) -> std::optional<ApprovalRecord> {
    const pqxx::result r = tx.exec_params(std::string("SELECT ") + kColumns + " FROM approval WHERE id = $1::uuid", id);
    if (r.empty()) return std::nullopt;
    return FromRow(r[0]);
  });
  if (!found.ok()) return found.error();
  if (!found->has_value()) return NotFound(id);
  return std::move(**found);
}

Result<std::vector<ApprovalRecord>> PgApprovalStore::List(std::optional<ApprovalStatus> status, int limit) {
  return db_.Read([&](pqxx::read_transaction& tx) {
    std::vector<ApprovalRecord> out;
    const std::string wanted = status ? std::string(ApprovalStatusName(*status)) : std::string();
    const pqxx::result rows = tx.exec_params(
        std::string("SELECT ") + kColumns +
            " FROM approval WHERE ($1 = '' OR status = $1) ORDER BY requested_at DESC, id LIMIT $2",
        wanted, limit);
    for (const auto& row : rows) out.push_back(FromRow(row));
    return out;
  });
}

Result<int> PgApprovalStore::ExpireAllPending(const std::string& by, const std::string& note) {
  return db_.Transact([&](pqxx::work& tx) {
    const pqxx::result r = tx.exec_params(
        "UPDATE approval SET status = 'expired', decided_at = now(), decided_by = $1, note = $2, escalated = true "
        // Approval steps of workflows (tool "workflow.approval") wait in the database, not on a
        // thread: they survive restarts, so they stay pending.
        "WHERE status = 'pending' AND tool <> 'workflow.approval'",
        by, note);
    return static_cast<int>(r.affected_rows());
  });
}

}  // namespace steward::tools
