// BrokerEngine's materialized views: the ViewSet it owns, fed from every
// topic's visible messages (docs/STORAGE.md "Views").
#include "core/broker_engine.h"
#include "core/broker_state.h"
#include "core/view_set.h"

namespace eda {

Status BrokerEngine::open_views(std::vector<std::string>& notes) {
  std::optional<std::string> dir;
  if (data_dir_) dir = data_dir_->namespace_dir(std::string(kDefaultNamespace)) + "/.views";
  auto set = ViewSet::open(posix_file_system(), dir, notes);
  if (!set) return set.error();
  view_set_ = std::move(*set);
  return ok_status();
}

std::vector<ViewSource> BrokerEngine::view_sources() {
  std::vector<ViewSource> sources;
  sources.reserve(topics_.size());
  for (auto& [key, t] : topics_)  // views read the default namespace (for now)
    if (t->ns == kDefaultNamespace) sources.push_back({t->name, t->log.get(), t->visible});
  return sources;
}

bool BrokerEngine::fold_views(size_t budget) {
  if (!view_set_->has_work()) return false;
  return view_set_->fold(view_sources(), budget);
}

bool BrokerEngine::has_view_work() const {
  return view_set_->has_work();
}

Status BrokerEngine::save_views(int64_t now, bool force) {
  return force ? view_set_->save_all(now) : view_set_->save(now);
}

}  // namespace eda
