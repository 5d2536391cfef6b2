#include "transport/admin_client.h"

#include <fmt/format.h>

#include "core/duration.h"

namespace eda {
namespace {

using Clock = std::chrono::steady_clock;

// Sends `m` and returns the broker's answer to request `req_id`: the reply
// of type `expected`, or the ERROR naming that request, as an Error.
Result<Reply> request(BrokerConnection& c, const proto::Message& m, uint64_t req_id,
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
        if (e && (e->req_id == req_id || e->req_id == 0))
          return e->code == proto::ErrorCode::kRejected ? invalid_argument(e->text)
                                                        : runtime_error(e->text);
      } else if (r.command == expected) {
        return std::move(r);
      }
    }
  }
  return Error{ErrorKind::kTimeout, fmt::format("{} from the broker at {} within {}",
                                                sent ? "no answer" : "cannot reach a broker",
                                                c.url(), format_duration(timeout))};
}

}  // namespace

Result<std::vector<TopicInfo>> list_topics(BrokerConnection& c, const std::string& pattern,
                                           std::chrono::milliseconds timeout) {
  proto::ListTopics m{c.next_request_id(), pattern};
  auto reply = request(c, proto::encode(m), m.req_id, proto::Command::kTopicList, timeout);
  if (!reply) return reply.error();
  auto list = proto::decode<proto::TopicList>(reply->body());
  if (!list) return runtime_error(list.error().message);
  return std::move(list->topics);
}

Status delete_topic(BrokerConnection& c, const std::string& name,
                    std::chrono::milliseconds timeout) {
  proto::DeleteTopic m{c.next_request_id(), name};
  auto reply = request(c, proto::encode(m), m.req_id, proto::Command::kOk, timeout);
  if (!reply) return reply.error();
  return ok_status();
}

}  // namespace eda
