# Shared by demo.sh and test.sh: Debian packages and an incremental build.
# Sourced, not run.

EDATOOL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDATOOL_PACKAGES=(cmake make g++ pkg-config libcli11-dev libzmq3-dev cppzmq-dev
  libmsgpack-cxx-dev libfmt-dev catch2 nlohmann-json3-dev librdkafka-dev kcat)

# Installs whichever of the packages (plus any given as arguments) are missing.
# Not root: prints the apt-get line to run and exits 1.
ensure_packages() {
  local missing=() p
  for p in "${EDATOOL_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "edatool: missing Debian packages; as root run:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "edatool: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# build_edatool DIR [cmake args...]: configures once, then builds incrementally.
build_edatool() {
  local dir=$1
  shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$EDATOOL_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  fi
  cmake --build "$dir" -j "$(nproc)"
}
