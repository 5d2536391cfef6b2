// --filter EXPR, declared the same way by every command that reads messages.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "core/filter.h"
#include "core/result.h"

namespace eda {

void add_filter_option(CLI::App& app, std::string& filter);

// The parsed expression; nullopt when --filter was not given.
Result<std::optional<Filter>> parse_filter_option(const std::string& text);

}  // namespace eda
