// edatool settle QUEUE TOKEN... complete|abandon|deadletter: settles messages
// that `recv --ack manual` left locked (docs/QUEUES.md "Settling").
#include <fmt/format.h>

#include "cmd/command.h"
#include "core/log.h"
#include "core/topic.h"
#include "transport/admin_client.h"

namespace eda {
namespace {

constexpr std::string_view kDeadLetteredByReceiver = "DeadLetteredByReceiver";

struct SettleOptions {
  std::string queue;
  std::vector<std::string> words;  // TOKEN... and the action, last (or first)
  std::string reason;
  std::string description;
};

std::optional<SettleAction> parse_action(std::string_view word) {
  if (word == "complete") return SettleAction::kComplete;
  if (word == "abandon") return SettleAction::kAbandon;
  if (word == "deadletter") return SettleAction::kDeadLetter;
  return std::nullopt;
}

// QUEUE is TOPIC (the queue's group) or TOPIC:GROUP (a durable group,
// `sub --group GROUP`); dead-letter topics ("$dlq.jobs") are queues too.
Result<GroupRequest> parse_target(std::string_view queue) {
  GroupRequest target;
  size_t colon = queue.find(':');
  target.topic = std::string(queue.substr(0, colon));
  if (colon != std::string_view::npos) target.group = std::string(queue.substr(colon + 1));
  if (Status s = validate_system_topic(target.topic); !s) return s.error();
  if (target.group.empty())
    return invalid_argument(fmt::format("'{}' names no group after the ':'", queue));
  return target;
}

// The settlements the words ask for: tokens then the action, or the action
// then tokens (which suits `... | xargs edatool settle QUEUE complete`).
Result<std::vector<Settlement>> parse_settlements(const SettleOptions& o) {
  std::vector<std::string> tokens = o.words;
  std::optional<SettleAction> action;
  if (!tokens.empty() && (action = parse_action(tokens.back()))) {
    tokens.pop_back();
  } else if (!tokens.empty() && (action = parse_action(tokens.front()))) {
    tokens.erase(tokens.begin());
  } else {
    return invalid_argument(fmt::format(
        "the last argument must be the action: complete, abandon or deadletter, not '{}'",
        tokens.empty() ? "" : tokens.back()));
  }
  if (tokens.empty())
    return invalid_argument("give the lock tokens to settle (from recv --ack manual)");
  if (*action != SettleAction::kDeadLetter && (!o.reason.empty() || !o.description.empty()))
    return invalid_argument("--reason and --description are for deadletter only");
  std::vector<Settlement> batch;
  for (const std::string& text : tokens) {
    auto token = parse_lock_token(text);
    if (!token) return token.error();
    Settlement& s = batch.emplace_back();
    s.token = *token;
    s.action = *action;
    if (*action == SettleAction::kDeadLetter) {
      s.reason = o.reason.empty() ? std::string(kDeadLetteredByReceiver) : o.reason;
      s.description = o.description;
    }
  }
  return batch;
}

int run_settle(const SettleOptions& o, const GlobalOptions& g) {
  auto target = parse_target(o.queue);
  if (!target) return report(target.error());
  auto batch = parse_settlements(o);
  if (!batch) return report(batch.error());
  auto connection = connect_broker(g);
  if (!connection) return report(connection.error());
  auto errors = settle_now(**connection, *target, *batch, kAdminTimeout);
  if (!errors) return report(errors.error());
  int status = kExitOk;
  for (size_t i = 0; i < batch->size(); ++i) {
    if ((*errors)[i].empty()) continue;
    log_error("settle {}: {}", lock_token_text((*batch)[i].token), (*errors)[i]);
    status = kExitFailure;
  }
  return status;
}

}  // namespace

Runner setup_settle(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<SettleOptions>();
  app.add_option("QUEUE", o->queue, "the queue (TOPIC) or durable group (TOPIC:GROUP)")->required();
  app.add_option("TOKEN", o->words,
                 "lock tokens printed by `recv --ack manual`, then the action: complete, "
                 "abandon or deadletter")
      ->required();
  app.add_option(
         "--reason", o->reason,
         fmt::format("deadletter: why (header dlq.reason; default {})", kDeadLetteredByReceiver))
      ->type_name("TEXT");
  app.add_option("--description", o->description, "deadletter: more detail (dlq.description)")
      ->type_name("TEXT");
  return [o, &global] { return run_settle(*o, global); };
}

}  // namespace eda
