#include "transport/admin_client.h"

#include <fmt/format.h>

#include "core/duration.h"

namespace eda {
namespace {

using Clock = std::chrono::steady_clock;

// Sends `m` and returns the broker's answer to request `req_id`: the reply
// of type `expected`, or the ERROR naming that request, as an Error.
Result<Reply> request_reply(BrokerConnection& c, const proto::Message& m, uint64_t req_id,
                            proto::Command expected, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  bool sent = false;
  while (Clock::now() < deadline) {
    if (!sent) sent = c.send(m) == SendResult::kSent;
    c.wait(std::chrono::milliseconds(50), !sent);
    for (;;) {
      auto reply = c.receive();
      if (!reply) return reply.error();
      if (!*reply) break;
      Reply& r = **reply;
      if (r.command == proto::Command::kError) {
        auto e = proto::decode<proto::ErrorReply>(r.body());
        if (e && (e->req_id == req_id || e->req_id == 0)) return broker_error(*e);
      } else if (r.command == expected) {
        return std::move(r);
      }
    }
  }
  // Unreachable is a runtime failure (exit 1), as for pub and sub; a broker
  // that took the request and did not answer in time is a timeout (exit 3).
  if (!sent) return runtime_error(c.cannot_reach(timeout));
  return Error{ErrorKind::kTimeout, fmt::format("no answer from the broker at {} within {}",
                                                c.url(), format_duration(timeout))};
}

}  // namespace

Error broker_error(const proto::ErrorReply& e) {
  switch (e.code) {
    case proto::ErrorCode::kRejected:
      return invalid_argument(e.text);
    case proto::ErrorCode::kNotFound:
      return {ErrorKind::kNotFound, e.text};
    case proto::ErrorCode::kConflict:
      return {ErrorKind::kConflict, e.text};
    default:
      return runtime_error(e.text);
  }
}

Result<std::vector<TopicInfo>> list_topics(BrokerConnection& c, const std::string& pattern,
                                           std::chrono::milliseconds timeout) {
  proto::ListTopics m{c.next_request_id(), pattern};
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kTopicList, timeout);
  if (!reply) return reply.error();
  auto list = proto::decode<proto::TopicList>(reply->body());
  if (!list) return runtime_error(list.error().message);
  return std::move(list->topics);
}

Result<proto::Counters> broker_stats(BrokerConnection& c, std::chrono::milliseconds timeout) {
  proto::Stats m{c.next_request_id()};
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kStatsReply, timeout);
  if (!reply) return reply.error();
  auto stats = proto::decode<proto::StatsReply>(reply->body());
  if (!stats) return runtime_error(stats.error().message);
  return std::move(stats->counters);
}

Status delete_topic(BrokerConnection& c, const std::string& name,
                    std::chrono::milliseconds timeout) {
  proto::DeleteTopic m{c.next_request_id(), name};
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kOk, timeout);
  if (!reply) return reply.error();
  return ok_status();
}

Status create_group(BrokerConnection& c, const CreateGroupRequest& request,
                    std::chrono::milliseconds timeout) {
  proto::CreateGroup m{c.next_request_id(), request};
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kOk, timeout);
  if (!reply) return reply.error();
  return ok_status();
}

Status delete_group(BrokerConnection& c, const GroupRequest& target,
                    std::chrono::milliseconds timeout) {
  proto::DeleteGroup m{c.next_request_id(), target};
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kOk, timeout);
  if (!reply) return reply.error();
  return ok_status();
}

Result<std::vector<GroupInfo>> list_groups(BrokerConnection& c, std::chrono::milliseconds timeout) {
  proto::ListGroups m{c.next_request_id()};
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kGroupList, timeout);
  if (!reply) return reply.error();
  auto list = proto::decode<proto::GroupList>(reply->body());
  if (!list) return runtime_error(list.error().message);
  return std::move(list->groups);
}

Result<std::vector<Envelope>> peek(BrokerConnection& c, const GroupRequest& target, size_t max,
                                   std::chrono::milliseconds timeout) {
  proto::Peek m{c.next_request_id(), target.topic, target.group, max};
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kReceived, timeout);
  if (!reply) return reply.error();
  auto received = proto::decode<proto::Received>(reply->body());
  if (!received) return runtime_error(received.error().message);
  return std::move(received->envelopes);
}

Result<std::vector<std::string>> settle_now(BrokerConnection& c, const GroupRequest& target,
                                            const std::vector<Settlement>& batch,
                                            std::chrono::milliseconds timeout) {
  proto::Settle m{c.next_request_id(), target.topic, target.group, batch};
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kSettled, timeout);
  if (!reply) return reply.error();
  auto settled = proto::decode<proto::Settled>(reply->body());
  if (!settled) return runtime_error(settled.error().message);
  if (settled->errors.size() != batch.size())
    return runtime_error("the broker answered a settle with the wrong number of outcomes");
  return std::move(settled->errors);
}

}  // namespace eda
