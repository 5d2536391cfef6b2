#include "transport/curve_keys.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <zmq.hpp>

#include "core/authorized_keys.h"

namespace eda {
namespace {

// The first word of the file at `path`, or an error naming the file.
Result<std::string> read_key_text(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return invalid_argument(fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno)));
  std::string key;
  in >> key;
  if (!is_z85_key(key))
    return invalid_argument(
        fmt::format("{} {} does not hold a CURVE key (40 Z85 characters, as edatool keygen writes)",
                    what, path));
  return key;
}

// Creates `path` with `mode` and writes `text`; O_EXCL unless `force`.
Status write_new_file(const std::string& path, const std::string& text, mode_t mode, bool force) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) return runtime_error(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  // An existing file kept its mode under --force: a secret must not stay readable.
  bool ok =
      ::fchmod(fd, mode) == 0 && ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  int saved = errno;
  ::close(fd);
  if (!ok) return runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(saved)));
  return ok_status();
}

}  // namespace

Result<CurveKeyPair> generate_curve_key_pair() {
  char public_key[kZ85KeyChars + 1];
  char secret_key[kZ85KeyChars + 1];
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    return runtime_error(
        fmt::format("cannot make a CURVE key pair: {}", zmq_strerror(zmq_errno())));
  return CurveKeyPair{public_key, secret_key};
}

Result<CurveKeyPair> read_secret_key_file(const std::string& path) {
  auto secret = read_key_text(path, "CURVE secret key file");
  if (!secret) return secret.error();
  char public_key[kZ85KeyChars + 1];
  if (zmq_curve_public(public_key, secret->c_str()) != 0)
    return invalid_argument(fmt::format("{} does not hold a valid CURVE secret key: {}", path,
                                        zmq_strerror(zmq_errno())));
  return CurveKeyPair{public_key, *secret};
}

Result<std::string> resolve_public_key(const std::string& key_or_file) {
  if (is_z85_key(key_or_file)) return key_or_file;
  if (::access(key_or_file.c_str(), F_OK) != 0)
    return invalid_argument(fmt::format(
        "--server-key '{}' is neither a CURVE public key (40 Z85 characters) nor a file",
        key_or_file));
  return read_key_text(key_or_file, "server key file");
}

Status write_key_pair(const CurveKeyPair& pair, const std::string& prefix, bool force) {
  std::string pub = prefix + ".pub";
  std::string key = prefix + ".key";
  if (!force)
    for (const std::string& path : {pub, key})
      if (::access(path.c_str(), F_OK) == 0)
        return runtime_error(
            fmt::format("{} exists; not overwriting it (use --force to replace the pair)", path));
  if (Status s = write_new_file(key, pair.secret_key + "\n", 0600, force); !s) return s;
  return write_new_file(pub, pair.public_key + "\n", 0644, force);
}

Result<ClientCurve> load_client_curve(const std::string& curve_key_file,
                                      const std::string& server_key) {
  if (curve_key_file.empty() && server_key.empty()) return ClientCurve{};
  if (server_key.empty())
    return invalid_argument(
        "--curve-key needs --server-key KEY|FILE too (the broker's public key, its .pub file)");
  if (curve_key_file.empty())
    return invalid_argument(
        "--server-key needs --curve-key FILE too (this client's secret key, from edatool keygen)");
  ClientCurve curve;
  auto pair = read_secret_key_file(curve_key_file);
  if (!pair) return pair.error();
  curve.client = std::move(*pair);
  auto server = resolve_public_key(server_key);
  if (!server) return server.error();
  curve.server_key = std::move(*server);
  return curve;
}

}  // namespace eda
