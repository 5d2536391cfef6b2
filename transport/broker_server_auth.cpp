// The broker's security: the ZAP handler that admits CURVE clients whose
// keys are authorized, the SIGHUP reload of that list, and per-key rights.
#include <fmt/format.h>

#include "core/log.h"
#include "transport/broker_server.h"

namespace eda {

void BrokerServer::handle_zap() {
  // RFC 27 request: version, request id, domain, address, routing id,
  // mechanism, then for CURVE one credential: the client's 32-byte public key.
  while (auto request = receive_message(zap_)) {
    const auto& parts = request->parts;
    std::string request_id = parts.size() > 1 ? parts[1].to_string() : "";
    std::string address = parts.size() > 3 ? parts[3].to_string() : "?";
    std::string key;
    if (parts.size() == 7 && parts[0].to_string_view() == "1.0" &&
        parts[5].to_string_view() == "CURVE" && parts[6].size() == 32) {
      char z85[kZ85KeyChars + 1];
      zmq_z85_encode(z85, static_cast<const uint8_t*>(parts[6].data()), 32);
      key = z85;
    }
    bool admitted = !key.empty() && config_.curve->authorized_keys.find(key) != nullptr;
    if (admitted)
      log_debug("admitted CURVE key {} from {}", key, address);
    else if (key.empty())
      log_info("refused a client from {}: malformed ZAP request", address);
    else
      log_info("refused a client from {}: key {} is not in {}", address, key,
               config_.curve->authorized_keys_path);
    // Reply: version, request id, status code, status text, user id, metadata.
    // The user id (the key) comes back as the User-Id of every message.
    const std::string status = admitted ? "200" : "400";
    const std::string text = admitted ? "OK" : "key not authorized";
    const std::string frames[] = {"1.0", request_id, status, text, admitted ? key : ""};
    for (const std::string& f : frames) zap_.send(zmq::buffer(f), zmq::send_flags::sndmore);
    zap_.send(zmq::message_t(), zmq::send_flags::none);
  }
}

void BrokerServer::reload_authorized_keys() {
  if (!config_.curve) return;
  const std::string& path = config_.curve->authorized_keys_path;
  auto keys = AuthorizedKeys::load(path);
  if (!keys) {
    log_error("SIGHUP: keeping the {} keys authorized before: {}",
              config_.curve->authorized_keys.size(), keys.error().message);
    return;
  }
  config_.curve->authorized_keys = std::move(*keys);
  log_info("SIGHUP: reread {}: {} keys authorized", path, config_.curve->authorized_keys.size());
}

const KeyRights* BrokerServer::caller_rights() const {
  return config_.curve ? config_.curve->authorized_keys.find(caller_key_) : nullptr;
}

bool BrokerServer::permitted(const std::string& peer, uint64_t req_id, Right right,
                             std::string_view name) {
  if (!config_.curve) return true;
  const KeyRights* rights = caller_rights();
  std::string denied;
  if (!rights)
    denied = fmt::format("key {} is no longer in the authorized keys file", caller_key_);
  else if (!rights->may_use_namespace(ns_))
    denied = fmt::format("key {} may not use namespace '{}' (its ns= rights: {})", caller_key_, ns_,
                         fmt::join(rights->namespaces, ","));
  else if (right == Right::kPublish && !rights->may_publish(name))
    denied = fmt::format("key {} may not publish to '{}' (its pub= rights: {})", caller_key_, name,
                         fmt::join(rights->publish, ","));
  else if (right == Right::kSubscribe && !rights->may_subscribe(name))
    denied = fmt::format("key {} may not subscribe to or receive from '{}' (its sub= rights: {})",
                         caller_key_, name, fmt::join(rights->subscribe, ","));
  else if (right == Right::kAdmin && !rights->may_admin())
    denied = fmt::format(
        "key {} may not manage topics, queues or groups (it lacks the admin right)", caller_key_);
  if (denied.empty()) return true;
  ++permission_denied_;
  reply_error(peer, req_id, proto::ErrorCode::kPermission, "permission denied: " + denied);
  return false;
}

}  // namespace eda
