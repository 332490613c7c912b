#pragma once
// Chat turns whose core died mid-turn. A chat run is owned like a workflow run (`owner` +
// `lease_until`, renewed by the owner's RunLease thread), but it cannot be resumed: the worker's
// in-flight state died with the core. The user's message and the session's history are
// committed before the turn starts, so the honest end is `failed` with code "interrupted": the
// user sends the message again. Nothing is emitted: the stream of the run died with its core.

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/database.hpp"

namespace steward::engine {

// How old a running chat run without an owner must be before it is ended. Such runs were
// inserted before chat runs had owners; one may belong to a live core of that older version
// sharing the database (which renews nothing), so only those older than any chat turn lasts
// are taken to be dead.
inline constexpr std::chrono::hours kOwnerlessChatRunGrace{1};

// The `run.error` of a chat run ended by FailInterruptedChatRuns ({code, message}, the shape of
// the errors ChatService records).
[[nodiscard]] nlohmann::json InterruptedChatRunError();

// Records as failed (InterruptedChatRunError, finished_at now, owner and lease cleared) the
// running chat runs whose owner's lease expired, other than `self`'s (this process is alive,
// whatever its lease says), and the ownerless ones started more than `ownerless_grace` ago;
// oldest first, at most `limit`. Returns their ids. Safe with several processes on one database:
// a run whose owner renews its lease is never taken, and concurrent sweeps take disjoint runs.
[[nodiscard]] Result<std::vector<std::string>> FailInterruptedChatRuns(
    store::Database& db, const std::string& self, int limit,
    std::chrono::milliseconds ownerless_grace = kOwnerlessChatRunGrace);

}  // namespace steward::engine
