// edatool keygen: a CURVE key pair for a broker or a client.
#include <fmt/format.h>

#include "cmd/command.h"
#include "core/log.h"
#include "transport/curve_keys.h"

namespace eda {
namespace {

struct KeygenOptions {
  std::string out;
  bool force = false;
};

int run_keygen(const KeygenOptions& o) {
  auto pair = generate_curve_key_pair();
  if (!pair) return report(pair.error());
  if (o.out.empty()) {
    // Two labelled lines, so a script can pick one: awk '/^public:/ {print $2}'.
    fmt::print("public: {}\nsecret: {}\n", pair->public_key, pair->secret_key);
    return kExitOk;
  }
  if (Status s = write_key_pair(*pair, o.out, o.force); !s) return report(s.error());
  log_info("wrote {0}.pub (public key) and {0}.key (secret key, mode 0600)", o.out);
  return kExitOk;
}

}  // namespace

Runner setup_keygen(CLI::App& app, const GlobalOptions&) {
  auto o = std::make_shared<KeygenOptions>();
  app.add_option("--out", o->out, "write PREFIX.pub and PREFIX.key instead of printing the keys")
      ->type_name("PREFIX");
  app.add_flag("--force", o->force, "replace PREFIX.pub and PREFIX.key if they exist");
  return [o] { return run_keygen(*o); };
}

}  // namespace eda
