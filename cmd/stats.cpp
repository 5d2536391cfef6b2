// edatool stats: the broker's counters (clients, traffic, refused and
// malformed requests), for an operator's shell or a monitoring script.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cmd/command.h"
#include "transport/admin_client.h"

namespace eda {

Runner setup_stats(CLI::App& app, const GlobalOptions& global) {
  auto json = std::make_shared<bool>(false);
  app.add_flag("--json", *json, "one JSON object");
  return [json, &global] {
    auto connection = connect_broker(global);
    if (!connection) return report(connection.error());
    auto counters = broker_stats(**connection, kAdminTimeout);
    if (!counters) return report(counters.error());
    if (*json) {
      nlohmann::ordered_json j = nlohmann::ordered_json::object();
      for (const auto& [name, value] : *counters) j[name] = value;
      fmt::print("{}\n", j.dump());
    } else {
      for (const auto& [name, value] : *counters) fmt::print("{:<26} {}\n", name, value);
    }
    return kExitOk;
  };
}

}  // namespace eda
