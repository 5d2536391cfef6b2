// BrokerServer's materialized view requests (docs/PROTOCOL.md "Views"):
// admin, reads, read-your-writes waits, and the folding step of each loop round.
#include <fmt/format.h>

#include "core/duration.h"
#include "core/log.h"
#include "core/view_set.h"
#include "transport/broker_server.h"

namespace eda {

using proto::ErrorCode;
using Clock = std::chrono::steady_clock;

namespace {

// Messages folded per loop round: about 5 ms at 2M msg/s, so requests and
// deliveries never wait long behind a view catching up.
constexpr size_t kViewFoldBudget = 10000;
// Longest a VIEW_GET may wait, below the peer timeout like RECEIVE's.
constexpr uint64_t kMaxViewWaitMs = 20000;
constexpr auto kViewSaveInterval = std::chrono::seconds(1);

}  // namespace

bool BrokerServer::views_here(const std::string& peer, uint64_t req_id) {
  if (ns_ == kDefaultNamespace) return true;
  reply_error(peer, req_id, ErrorCode::kRejected,
              fmt::format("views live in the default namespace only, and this request is in "
                          "namespace '{}'; run view commands without --namespace",
                          ns_));
  return false;
}

void BrokerServer::handle_view_admin(const std::string& peer, proto::Command command,
                                     std::string_view body) {
  uint64_t req_id = 0;
  Status done = ok_status();
  std::string what;
  if (command == proto::Command::kCreateView) {
    auto m = proto::decode<proto::CreateView>(body);
    if (!m) return reject_malformed(peer, m.error());
    req_id = m->req_id;
    if (!views_here(peer, req_id) || !permitted(peer, req_id, Right::kAdmin, {})) return;
    done = engine_->view_set().create(m->spec);
    what = fmt::format("view {} created from {}", m->spec.name, m->spec.from);
  } else {
    // DROP_VIEW and REBUILD_VIEW share their layout: [req_id, name].
    Result<proto::DropView> m = proto::decode<proto::DropView>(body);
    if (command == proto::Command::kRebuildView) {
      auto r = proto::decode<proto::RebuildView>(body);
      m = r ? Result<proto::DropView>(proto::DropView{r->req_id, r->name}) : r.error();
    }
    if (!m) return reject_malformed(peer, m.error());
    req_id = m->req_id;
    if (!views_here(peer, req_id) || !permitted(peer, req_id, Right::kAdmin, {})) return;
    bool drop = command == proto::Command::kDropView;
    done = drop ? engine_->view_set().drop(m->name) : engine_->view_set().rebuild(m->name);
    what = fmt::format("view {} {}", m->name, drop ? "dropped" : "rebuilding");
  }
  if (!done) return reply_error(peer, req_id, code_for(done.error()), done.error().message);
  log_info("{}", what);
  reply(peer, proto::encode(proto::OkReply{req_id}));
}

void BrokerServer::handle_view_get(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::ViewGet>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!views_here(peer, m->req_id)) return;
  auto wait = std::chrono::milliseconds(std::min(m->wait_ms, kMaxViewWaitMs));
  view_get(peer, *m, Clock::now() + wait);
}

void BrokerServer::view_get(const std::string& peer, const proto::ViewGet& m,
                            Clock::time_point deadline) {
  const View* view = engine_->view_set().find(m.name);
  if (!view)
    return reply_error(peer, m.req_id, ErrorCode::kNotFound,
                       fmt::format("no view named '{}'", m.name));
  if (!permitted(peer, m.req_id, Right::kSubscribe, view->spec().from)) return;
  if (!m.after_topic.empty()) {
    if (!view->reads(m.after_topic))
      return reply_error(
          peer, m.req_id, ErrorCode::kRejected,
          fmt::format("view {} reads {}, not topic {}", m.name, view->spec().from, m.after_topic));
    if (view->next_offset(m.after_topic) <= m.after_offset) {
      if (Clock::now() < deadline) {
        parked_gets_.push_back({peer, m, deadline});
        return;
      }
      return reply_error(
          peer, m.req_id, ErrorCode::kTimeout,
          fmt::format("view {} has not folded {}:{} yet (it is at offset {})", m.name,
                      m.after_topic, m.after_offset, view->next_offset(m.after_topic)));
    }
  }
  const ViewValue* value = view->get(m.key);
  if (!value)
    return reply_error(peer, m.req_id, ErrorCode::kNotFound,
                       fmt::format("view {} has no key '{}'", m.name, m.key));
  reply(peer, proto::encode(proto::ViewValueReply{m.req_id, *value}));
}

void BrokerServer::handle_view_list(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::ViewList>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!views_here(peer, m->req_id)) return;
  const View* view = engine_->view_set().find(m->name);
  if (!view)
    return reply_error(peer, m->req_id, ErrorCode::kNotFound,
                       fmt::format("no view named '{}'", m->name));
  if (!permitted(peer, m->req_id, Right::kSubscribe, view->spec().from)) return;
  reply(peer, proto::encode(proto::ViewRows{m->req_id, view->list(m->prefix)}));
}

void BrokerServer::handle_view_stats(const std::string& peer, std::string_view body) {
  auto m = proto::decode<proto::ViewStatsRequest>(body);
  if (!m) return reject_malformed(peer, m.error());
  if (!views_here(peer, m->req_id)) return;
  if (!permitted(peer, m->req_id, Right::kAdmin, {})) return;
  ViewSet& set = engine_->view_set();
  std::vector<std::string> names = m->name.empty() ? set.names() : std::vector{m->name};
  auto sources = engine_->view_sources();
  proto::ViewStatsList list{m->req_id, {}};
  for (const std::string& name : names) {
    auto stats = set.stats(name, sources);
    if (!stats) return reply_error(peer, m->req_id, code_for(stats.error()), stats.error().message);
    list.views.push_back(std::move(*stats));
  }
  reply(peer, proto::encode(list));
}

void BrokerServer::serve_views() {
  bool folded = engine_->has_view_work();
  if (folded) engine_->fold_views(kViewFoldBudget);
  if (!parked_gets_.empty()) {
    auto now = Clock::now();
    // view_get() parks again what is still waiting.
    for (ParkedViewGet& g : std::exchange(parked_gets_, {})) {
      if (!folded && g.deadline > now)
        parked_gets_.push_back(std::move(g));
      else
        view_get(g.peer, g.request, g.deadline);
    }
  }
  if (Clock::now() - last_view_save_ >= kViewSaveInterval) {
    if (Status s = engine_->save_views(now_ms(), false); !s)
      log_error("writing view snapshots: {}", s.error().message);
    last_view_save_ = Clock::now();
  }
}

}  // namespace eda
