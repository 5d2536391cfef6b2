#include "cmd/output_options.h"

namespace eda {

void add_output_options(CLI::App& app, OutputOptions& o) {
  app.add_option("--format", o.format, "output: raw (payload per line), json, msgpack")
      ->capture_default_str()
      ->check(CLI::IsMember({"raw", "json", "msgpack"}));
  app.add_option("--template", o.output_template,
                 "kcat-like output: %t topic %p partition (Kafka) %o offset %k key %s payload %T "
                 "ts %i id %h headers "
                 "%{name} one header; \\n \\t")
      ->type_name("FMT");
}

Result<std::unique_ptr<FdSink>> make_stdout_sink(const OutputOptions& o) {
  auto format = parse_output_format(o.format);
  if (!format) return format.error();
  std::optional<OutputTemplate> tmpl;
  if (!o.output_template.empty()) {
    auto t = OutputTemplate::compile(o.output_template);
    if (!t) return t.error();
    tmpl = std::move(*t);
  }
  return std::make_unique<FdSink>(1, *format, std::move(tmpl));
}

}  // namespace eda
