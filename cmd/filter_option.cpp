#include "cmd/filter_option.h"

namespace eda {

void add_filter_option(CLI::App& app, std::string& filter) {
  app.add_option("--filter", filter,
                 "only messages matching EXPR, a SQL-like condition evaluated by the broker, "
                 "e.g. \"color = 'red' AND payload.qty > 10\" (docs/FILTERS.md)")
      ->type_name("EXPR");
}

Result<std::optional<Filter>> parse_filter_option(const std::string& text) {
  if (text.empty()) return std::optional<Filter>();
  auto filter = Filter::parse(text);
  if (!filter) return filter.error();
  return std::optional<Filter>(std::move(*filter));
}

}  // namespace eda
