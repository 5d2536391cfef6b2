// One-shot requests for the admin commands (topic, queue, dlq, settle): send,
// wait for the matching answer within a timeout, report errors plainly.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/broker_engine.h"
#include "core/envelope.h"
#include "core/result.h"
#include "transport/broker_connection.h"
#include "transport/protocol.h"

namespace eda {

Result<std::vector<TopicInfo>> list_topics(BrokerConnection& c, const std::string& pattern,
                                           std::chrono::milliseconds timeout);
Status delete_topic(BrokerConnection& c, const std::string& name,
                    std::chrono::milliseconds timeout);
// Makes a topic with these settings; fine when it exists with the same ones.
Status create_topic(BrokerConnection& c, const std::string& name, const TopicSettings& settings,
                    std::chrono::milliseconds timeout);

Status create_group(BrokerConnection& c, const CreateGroupRequest& request,
                    std::chrono::milliseconds timeout);
Status delete_group(BrokerConnection& c, const GroupRequest& target,
                    std::chrono::milliseconds timeout);
// The broker's counters (edatool stats); `topics` counts the connection's namespace.
Result<proto::Counters> broker_stats(BrokerConnection& c, std::chrono::milliseconds timeout);
Result<std::vector<GroupInfo>> list_groups(BrokerConnection& c, std::chrono::milliseconds timeout);
// Pending messages of a queue or group, oldest first, without locking them.
Result<std::vector<Envelope>> peek(BrokerConnection& c, const GroupRequest& target, size_t max,
                                   std::chrono::milliseconds timeout);
// Settles `batch` and waits until the broker stored the outcome: per
// settlement, "" when done, else why not.
Result<std::vector<std::string>> settle_now(BrokerConnection& c, const GroupRequest& target,
                                            const std::vector<Settlement>& batch,
                                            std::chrono::milliseconds timeout);

// Materialized views (docs/PROTOCOL.md "Views").
Status create_view(BrokerConnection& c, const ViewSpec& spec, std::chrono::milliseconds timeout);
Status drop_view(BrokerConnection& c, const std::string& name, std::chrono::milliseconds timeout);
Status rebuild_view(BrokerConnection& c, const std::string& name,
                    std::chrono::milliseconds timeout);
// The key's value; kNotFound when the view or the key is absent; kTimeout
// when request.after_offset was not folded within request.wait_ms.
Result<ViewValue> view_get(BrokerConnection& c, proto::ViewGet request,
                           std::chrono::milliseconds timeout);
Result<std::vector<std::pair<std::string, ViewValue>>> view_list(BrokerConnection& c,
                                                                 const std::string& name,
                                                                 const std::string& prefix,
                                                                 std::chrono::milliseconds timeout);
// One view's stats, or every view's when `name` is empty.
Result<std::vector<ViewStats>> view_stats(BrokerConnection& c, const std::string& name,
                                          std::chrono::milliseconds timeout);

// The Error a broker's ERROR reply stands for (its code picks the kind).
Error broker_error(const proto::ErrorReply& e);

}  // namespace eda
