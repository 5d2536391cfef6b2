// CURVE key pairs and key files (ZeroMQ RFC 26; edatool keygen, --curve-key,
// --server-key, --curve-secret). Keys are Z85 text, 40 characters.
//
// Key files: PREFIX.pub holds the public key and a newline; PREFIX.key holds
// the secret key and a newline (mode 0600). Whitespace around a key is ignored
// when reading.
#pragma once

#include <string>

#include "core/result.h"

namespace eda {

struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

Result<CurveKeyPair> generate_curve_key_pair();

// A .key file: the secret key, and the public key derived from it.
Result<CurveKeyPair> read_secret_key_file(const std::string& path);

// `key_or_file` is a Z85 public key, or the path of a .pub file holding one.
Result<std::string> resolve_public_key(const std::string& key_or_file);

// Writes PREFIX.pub and PREFIX.key (mode 0600). Without `force`, refuses when
// either exists (nothing is written then).
Status write_key_pair(const CurveKeyPair& pair, const std::string& prefix, bool force);

// What a client needs to talk to a CURVE broker: its own key pair and the
// broker's public key. Empty: plaintext.
struct ClientCurve {
  CurveKeyPair client;
  std::string server_key;
  bool enabled() const { return !server_key.empty(); }
};

// From --curve-key FILE and --server-key KEY|FILE (either may be empty).
// Both or neither: one alone is a usage error that says what is missing.
Result<ClientCurve> load_client_curve(const std::string& curve_key_file,
                                      const std::string& server_key);

}  // namespace eda
