# Shared by scripts/bench: builds and starts its two references. Sourced, not run; needs common.sh.
#
#   durable reference  scripts/lib/durable-reference.c, compiled with gcc and libpq (installed from
#                      Debian when missing: gcc, libpq-dev) into target/bench-refs/ (not tracked; a
#                      source newer than the binary rebuilds it)
#   @tus/server        scripts/lib/tus-reference/ (server.mjs, package.json and package-lock.json
#                      with exact versions): copied to target/bench-refs/tus and installed there with
#                      `npm ci` (again when the lock file changed); needs Node >= 20.19 (nodejs and
#                      npm are installed from Debian when missing)

REFS_DIR="$ROOT/target/bench-refs"
DURABLE_BIN="$REFS_DIR/durable-reference"
TUS_DIR="$REFS_DIR/tus"

# Installs the Debian packages named when missing (quietly; apt-get update only when needed).
refs_apt() {
  echo "bench: installing $*" >&2
  { apt-get install -y -q "$@" || { apt-get update -q && apt-get install -y -q "$@"; }; } >/dev/null
}

# Compiles the durable reference when missing or older than its source; fails with a message.
build_durable_reference() {
  local src="$ROOT/scripts/lib/durable-reference.c" inc
  [ -x "$DURABLE_BIN" ] && [ "$DURABLE_BIN" -nt "$src" ] && return 0
  local need=()
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  { command -v pg_config >/dev/null && [ -f "$(pg_config --includedir)/libpq-fe.h" ]; } || need+=(libpq-dev)
  ((${#need[@]} == 0)) || refs_apt "${need[@]}"
  inc=$(pg_config --includedir)
  mkdir -p "$REFS_DIR"
  gcc -O2 -Wall -pthread -o "$DURABLE_BIN.tmp" "$src" -I"$inc" -lpq || { echo "bench: the durable reference did not compile" >&2; return 1; }
  mv "$DURABLE_BIN.tmp" "$DURABLE_BIN"
}

# Prints why @tus/server cannot run here (Node missing or older than 20.19), or nothing.
tus_unavailable() {
  command -v node >/dev/null && command -v npm >/dev/null || refs_apt nodejs npm || true
  command -v node >/dev/null || { echo "no Node.js"; return; }
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
    || echo "Node $(node --version) < 20.19"
}

# Installs @tus/server and @tus/file-store at the locked versions into target/bench-refs/tus.
install_tus_reference() {
  local src="$ROOT/scripts/lib/tus-reference" f
  mkdir -p "$TUS_DIR"
  if ! cmp -s "$src/package-lock.json" "$TUS_DIR/package-lock.json" || [ ! -d "$TUS_DIR/node_modules/@tus/server" ]; then
    cp "$src/package.json" "$src/package-lock.json" "$TUS_DIR/"
    (cd "$TUS_DIR" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
      || { echo "bench: npm ci of @tus/server failed" >&2; return 1; }
  fi
  for f in server.mjs package.json; do cp "$src/$f" "$TUS_DIR/$f"; done
}

# wait_http URL PID SECONDS: until URL answers (any status), while PID lives; fails otherwise
wait_http() {
  local i
  for ((i = 0; i < $3 * 4; i++)); do
    kill -0 "$2" 2>/dev/null || return 1
    curl -s -o /dev/null -X OPTIONS "$1" && return 0
    sleep 0.25
  done
  return 1
}
