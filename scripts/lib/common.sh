# Shared by the scripts (run, token, cluster, sibling, bench, ...): project paths, the build, the dev secret.
# Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JAR="$ROOT/target/files-service.jar"
# JVM flags Hazelcast needs on Java 17 (also in the pom's surefire argLine).
JVM_FLAGS=(--add-modules java.se --add-exports java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.management/sun.management=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED)

# The development JWT secret, used only when no key is configured. Never use it in production.
DEV_JWT_SECRET="files-service-development-secret-do-not-use-in-production"

# Prints the usage of the calling script: its leading comment block (from line 2 to the first line
# that is not a comment), without the "# ". Every script answers --help and -h with it (exit 0).
script_usage() {
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$1"
}

# Handles the arguments of a script that takes none: --help / -h print its usage and exit 0;
# anything else is refused in one line (exit 2). $1 is the script ($0), the rest its arguments.
no_arguments() {
  local script=$1 name
  name=$(basename "$script"); shift
  case "${1:-}" in
    '') return 0 ;;
    -h|--help) script_usage "$script"; exit 0 ;;
    *) echo "$name: unknown argument '$1': it takes none (scripts/$name --help)" >&2; exit 2 ;;
  esac
}

# Maven 3.8 prints colour resets even in batch mode: drop ANSI sequences from its output.
strip_ansi() {
  sed -u 's/\x1b\[[0-9;]*m//g'
}

jar_is_fresh() {
  [ -f "$JAR" ] && [ -z "$(find "$ROOT/src" "$ROOT/pom.xml" "$ROOT/conf" -newer "$JAR" -type f 2>/dev/null | head -1)" ]
}

# Builds target/files-service.jar when it is missing or older than a source file. Concurrent
# callers (scripts/run and scripts/token started together) wait for one build.
build_if_needed() {
  jar_is_fresh && return 0
  command -v mvn >/dev/null || { echo "run: Maven (mvn) is needed to build; apt-get install -y maven openjdk-17-jdk-headless" >&2; return 1; }
  mkdir -p "$ROOT/target"
  (
    flock 9
    jar_is_fresh && exit 0
    echo "run: building $JAR (the first build downloads dependencies: about a minute) ..." >&2
    cd "$ROOT" && mvn -q -B -ntp -Dstyle.color=never -DskipTests package 2>&1 | strip_ansi >&2
  ) 9>"$ROOT/target/.build.lock"
}

# True when a JWT key is configured through the environment or the FILES_CONFIG file.
jwt_key_configured() {
  [ -n "${FILES_AUTH_JWT_SECRET:-}" ] || [ -n "${FILES_AUTH_JWT_PUBLIC_KEY:-}" ] && return 0
  if [ -n "${FILES_CONFIG:-}" ] && [ -f "$FILES_CONFIG" ]; then
    grep -Eq '"(secret|public_key)"[[:space:]]*:[[:space:]]*"[^"]+' "$FILES_CONFIG" && return 0
  fi
  grep -Eq '"(secret|public_key)"[[:space:]]*:[[:space:]]*"[^"]+' "$ROOT/conf/config.json"
}

# Exports the development secret when no key is configured; says so when $1 is "loud". With the
# development secret (which anyone can read here) the node listens on 127.0.0.1 only, unless
# FILES_HTTP_HOST says otherwise.
use_dev_secret_if_unkeyed() {
  if ! jwt_key_configured; then
    export FILES_AUTH_JWT_SECRET="$DEV_JWT_SECRET"
    export FILES_HTTP_HOST="${FILES_HTTP_HOST:-127.0.0.1}"
    [ "${1:-}" = loud ] && echo "run: no JWT key configured: using the DEVELOPMENT secret, listening on $FILES_HTTP_HOST only (set FILES_AUTH_JWT_SECRET or FILES_AUTH_JWT_PUBLIC_KEY for real use)" >&2
  fi
  return 0
}

# Makes the master key file $1 ("<id>:<base64 of 32 random bytes>", id $2, mode 0600) unless it
# exists. The key is written aside and hard-linked into place, which fails when the file exists:
# when several nodes start at once on one directory (scripts/cluster, two clusters side by side),
# exactly one key is made and every node reads that one, complete. Returns 0 when this call made
# it, 1 when another had. An empty file (never left by this function) is replaced.
make_master_key() {
  local keyfile=$1 id=$2 tmp made=1
  mkdir -p "$(dirname "$keyfile")"
  [ -e "$keyfile" ] && [ ! -s "$keyfile" ] && rm -f "$keyfile"
  tmp=$(mktemp "$(dirname "$keyfile")/.master.key.XXXXXX") # mode 0600
  printf '%s:%s\n' "$id" "$(head -c 32 /dev/urandom | base64 -w0)" >"$tmp"
  ln "$tmp" "$keyfile" 2>/dev/null && made=0
  rm -f "$tmp"
  return $made
}
