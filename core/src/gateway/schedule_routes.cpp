#include "gateway/schedule_routes.hpp"

namespace steward::gateway {

void RegisterScheduleRoutes(HttpServer& server, ApiContext& ctx, std::function<Result<nlohmann::json>()> list) {
  server.Route(http::verb::get, "/api/schedules",
               [&ctx, list = std::move(list)](const Request& req, const PathParams&, ResponseWriter& w) {
                 auto principal = RequirePrincipal(ctx, req, w);
                 if (!principal) return;
                 if (!principal->owner()) {
                   w.SendError(MakeError(ErrorCode::kPermissionDenied, "only the owner can list schedules"));
                   return;
                 }
                 auto schedules = list ? list() : Result<nlohmann::json>(nlohmann::json::array());
                 if (!schedules.ok()) {
                   w.SendError(schedules.error());
                   return;
                 }
                 w.SendJson(http::status::ok, {{"schedules", std::move(*schedules)}});
               });
}

}  // namespace steward::gateway
