// The output flags shared by every command that prints messages
// (sub, tail, replay): --format and --template.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/envelope_output.h"
#include "core/result.h"

namespace eda {

struct OutputOptions {
  std::string format = "raw";
  std::string output_template;
};

void add_output_options(CLI::App& app, OutputOptions& o);

// A sink writing to stdout as the options ask.
Result<std::unique_ptr<FdSink>> make_stdout_sink(const OutputOptions& o);

}  // namespace eda
