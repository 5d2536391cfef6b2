#include "core/record_filter.h"

#include <memory>

namespace eda {

RecordFilter record_filter(Filter filter) {
  auto viewer = std::make_shared<EnvelopeViewer>();
  return [filter = std::move(filter), viewer](const StoredRecord& record) {
    auto view = viewer->view(record.body);
    if (!view) return false;
    view->offset = record.offset;
    return filter.matches(*view);
  };
}

}  // namespace eda
