// edatool dlq QUEUE [--resubmit]: what a queue dead-lettered, and why; or
// those messages sent back to the queue (docs/QUEUES.md "Dead-letter queues").
#include <fmt/format.h>

#include "cmd/command.h"
#include "cmd/output_options.h"
#include "core/envelope_source.h"
#include "core/log.h"
#include "core/topic.h"
#include "transport/admin_client.h"
#include "transport/publisher.h"
#include "transport/queue_client.h"

namespace eda {
namespace {

// Resubmitting locks this many dead letters at a time, for this long: ample
// to publish them and wait for the confirmation.
constexpr size_t kResubmitBatch = 256;
constexpr std::chrono::seconds kResubmitLock{30};
// The raw listing: why, after how many deliveries, what.
constexpr std::string_view kRawTemplate = "%{dlq.reason}\t%{dlq.delivery_count}\t%s\n";

struct DlqOptions {
  std::string queue;
  int64_t count = 100;
  bool resubmit = false;
  OutputOptions output;
  CLI::App* app = nullptr;
};

int list_dead_letters(BrokerConnection& c, const DlqOptions& o, const std::string& dlq) {
  OutputOptions output = o.output;
  if (output.format == "raw" && output.output_template.empty())
    output.output_template = std::string(kRawTemplate);
  auto sink = make_stdout_sink(output);
  if (!sink) return report(sink.error());
  auto messages =
      peek(c, {dlq, std::string(kQueueGroup)}, static_cast<size_t>(o.count), kAdminTimeout);
  if (!messages) return report(messages.error());
  for (const Envelope& e : *messages)
    if (Status s = (*sink)->write(e); !s) return report(s.error());
  if (Status s = (*sink)->flush(); !s) return report(s.error());
  return kExitOk;
}

// The message to publish again: the original's key, headers and payload,
// without what dead-lettering added, and a new id and time.
Envelope resubmission(const Envelope& dead) {
  Envelope e;
  e.key = dead.key;
  e.payload = dead.payload;
  for (const auto& header : dead.headers)
    if (!header.first.starts_with("dlq.")) e.headers.push_back(header);
  return e;
}

// Settles `batch` with `action` on `client` and waits for the outcome; false
// when any failed (each is reported).
bool settle_all(QueueClient& client, const std::vector<ReceivedMessage>& batch,
                SettleAction action) {
  std::vector<Settlement> settlements;
  for (const ReceivedMessage& m : batch) settlements.push_back({m.lock.token, action, {}, {}});
  client.settle(std::move(settlements));
  bool ok = true;
  while (client.settling() > 0) {
    auto events = client.poll(std::chrono::milliseconds(100));
    if (!events) {
      log_error("{}", events.error().message);
      return false;
    }
    for (const SettleOutcome& outcome : events->settled) {
      if (outcome.error.empty()) continue;
      log_error("settle {}: {}", lock_token_text(outcome.settlement.token), outcome.error);
      ok = false;
    }
  }
  return ok;
}

// Receives what is in the dead-letter queue now (locked, in batches),
// publishes each message back to the queue, and completes it in the
// dead-letter queue once the publish is confirmed. A batch that cannot be
// published is abandoned and stays in the dead-letter queue; if part of it
// was published, that part is then in both (at least once, never lost).
int resubmit(const GlobalOptions& g, const DlqOptions& o, const std::string& dlq) {
  auto receiving = connect_broker(g);
  if (!receiving) return report(receiving.error());
  // Publishing has its own connection: each side reads only its own answers.
  auto publishing = connect_broker(g);
  if (!publishing) return report(publishing.error());
  // Receiving from a missing topic would create it: look first.
  auto topics = list_topics(**receiving, dlq, kAdminTimeout);
  if (!topics) return report(topics.error());
  const std::atomic<bool>& stop = install_stop_signals();
  QueueClient client(**receiving, {dlq, std::string(kQueueGroup)});
  uint64_t done = 0;
  auto wanted = static_cast<uint64_t>(o.count);
  while (!topics->empty() && done < wanted) {
    client.request(std::min<uint64_t>(wanted - done, kResubmitBatch), proto::ReceiveMode::kPeekLock,
                   kResubmitLock, std::chrono::milliseconds(0));
    std::vector<ReceivedMessage> batch;
    while (client.requesting() && !stop) {
      auto events = client.poll(std::chrono::milliseconds(100));
      if (!events) return report(events.error());
      for (ReceivedMessage& m : events->messages) batch.push_back(std::move(m));
    }
    if (stop) {
      settle_all(client, batch, SettleAction::kAbandon);
      return report({ErrorKind::kInterrupted, fmt::format("interrupted after resubmitting {} "
                                                          "messages to {}",
                                                          done, o.queue)});
    }
    if (batch.empty()) break;
    std::vector<Envelope> copies;
    for (const ReceivedMessage& m : batch) copies.push_back(resubmission(m.envelope));
    ListSource source(std::move(copies));
    PublishReport counts;
    Status published =
        publish(**publishing, source, EnvelopeStamp{o.queue, {}, {}, {}}, {}, stop, counts);
    if (!published) {
      settle_all(client, batch, SettleAction::kAbandon);
      return report(
          {published.error().kind, fmt::format("resubmitted {} messages to {}, then: {}", done,
                                               o.queue, published.error().message)});
    }
    if (!settle_all(client, batch, SettleAction::kComplete))
      return report(runtime_error(
          fmt::format("resubmitted {} messages to {}, but some of them stay in {} too",
                      done + batch.size(), o.queue, dlq)));
    done += batch.size();
  }
  log_info("resubmitted {} message{} to {}", done, done == 1 ? "" : "s", o.queue);
  return kExitOk;
}

int run_dlq(const DlqOptions& o, const GlobalOptions& g) {
  if (Status s = validate_system_topic(o.queue); !s) return report(s.error());
  if (o.count < 1)
    return report(invalid_argument(fmt::format("-n must be at least 1, not {}", o.count)));
  if (o.resubmit && (o.app->count("--format") || o.app->count("--template")))
    return report(invalid_argument("--format and --template are for listing, not --resubmit"));
  std::string dlq = dead_letter_topic(o.queue);
  if (o.resubmit) return resubmit(g, o, dlq);
  auto connection = connect_broker(g);
  if (!connection) return report(connection.error());
  return list_dead_letters(**connection, o, dlq);
}

}  // namespace

Runner setup_dlq(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<DlqOptions>();
  o->app = &app;
  app.add_option("QUEUE", o->queue, "the queue whose dead letters to show")->required();
  app.add_option("-n,--count", o->count, "at most N messages")
      ->type_name("N")
      ->capture_default_str();
  app.add_flag("--resubmit", o->resubmit,
               "publish them back to the queue as new messages and remove them from the "
               "dead-letter queue");
  add_output_options(app, o->output);
  return [o, &global] { return run_dlq(*o, global); };
}

}  // namespace eda
