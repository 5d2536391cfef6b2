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
    case proto::ErrorCode::kTimeout:
      return {ErrorKind::kTimeout, e.text};
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

Status create_topic(BrokerConnection& c, const std::string& name, const TopicSettings& settings,
                    std::chrono::milliseconds timeout) {
  proto::CreateTopic m{c.next_request_id(), name, settings};
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

// Sends a request answered by OK.
template <class T>
Status request_ok(BrokerConnection& c, const T& m, std::chrono::milliseconds timeout) {
  auto reply = request_reply(c, proto::encode(m), m.req_id, proto::Command::kOk, timeout);
  if (!reply) return reply.error();
  return ok_status();
}

// Sends a request and decodes its answer of type `Answer`.
template <class Answer, class T>
Result<Answer> request_answer(BrokerConnection& c, const T& m, std::chrono::milliseconds timeout) {
  auto reply = request_reply(c, proto::encode(m), m.req_id, Answer::kCommand, timeout);
  if (!reply) return reply.error();
  auto answer = proto::decode<Answer>(reply->body());
  if (!answer) return runtime_error(answer.error().message);
  return std::move(*answer);
}

Status create_view(BrokerConnection& c, const ViewSpec& spec, std::chrono::milliseconds timeout) {
  return request_ok(c, proto::CreateView{c.next_request_id(), spec}, timeout);
}

Status drop_view(BrokerConnection& c, const std::string& name, std::chrono::milliseconds timeout) {
  return request_ok(c, proto::DropView{c.next_request_id(), name}, timeout);
}

Status rebuild_view(BrokerConnection& c, const std::string& name,
                    std::chrono::milliseconds timeout) {
  return request_ok(c, proto::RebuildView{c.next_request_id(), name}, timeout);
}

Result<ViewValue> view_get(BrokerConnection& c, proto::ViewGet request,
                           std::chrono::milliseconds timeout) {
  request.req_id = c.next_request_id();
  auto answer = request_answer<proto::ViewValueReply>(c, request, timeout);
  if (!answer) return answer.error();
  return std::move(answer->value);
}

Result<std::vector<std::pair<std::string, ViewValue>>> view_list(
    BrokerConnection& c, const std::string& name, const std::string& prefix,
    std::chrono::milliseconds timeout) {
  auto answer = request_answer<proto::ViewRows>(
      c, proto::ViewList{c.next_request_id(), name, prefix}, timeout);
  if (!answer) return answer.error();
  return std::move(answer->rows);
}

Result<std::vector<ViewStats>> view_stats(BrokerConnection& c, const std::string& name,
                                          std::chrono::milliseconds timeout) {
  auto answer = request_answer<proto::ViewStatsList>(
      c, proto::ViewStatsRequest{c.next_request_id(), name}, timeout);
  if (!answer) return answer.error();
  return std::move(answer->views);
}

}  // namespace eda
