#include "cmd/command.h"
#include "transport/broker_connection.h"
#include "transport/curve_keys.h"

namespace eda {

Result<std::unique_ptr<BrokerConnection>> connect_broker(const GlobalOptions& global) {
  auto curve = load_client_curve(global.curve_key, global.server_key);
  if (!curve) return curve.error();
  return BrokerConnection::open(global.broker, *curve, global.ns);
}

}  // namespace eda
