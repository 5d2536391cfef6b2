// One-shot requests for the admin commands (topic list/stats/delete): send,
// wait for the matching answer within a timeout, report errors plainly.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/broker_engine.h"
#include "core/result.h"
#include "transport/broker_connection.h"

namespace eda {

Result<std::vector<TopicInfo>> list_topics(BrokerConnection& c, const std::string& pattern,
                                           std::chrono::milliseconds timeout);
Status delete_topic(BrokerConnection& c, const std::string& name,
                    std::chrono::milliseconds timeout);

}  // namespace eda
