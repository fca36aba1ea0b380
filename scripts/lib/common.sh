# Shared by scripts/run, scripts/token and scripts/bench: project paths, the build, the dev secret.
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

# Builds target/files-service.jar when it is missing or older than a source file.
build_if_needed() {
  if [ -f "$JAR" ] && [ -z "$(find "$ROOT/src" "$ROOT/pom.xml" "$ROOT/conf" -newer "$JAR" -type f 2>/dev/null | head -1)" ]; then
    return 0
  fi
  command -v mvn >/dev/null || { echo "run: Maven (mvn) is needed to build; apt-get install -y maven openjdk-17-jdk-headless" >&2; return 1; }
  echo "run: building $JAR ..." >&2
  (cd "$ROOT" && mvn -q -B -DskipTests package) >&2
}

# True when a JWT key is configured through the environment or the FILES_CONFIG file.
jwt_key_configured() {
  [ -n "${FILES_AUTH_JWT_SECRET:-}" ] || [ -n "${FILES_AUTH_JWT_PUBLIC_KEY:-}" ] && return 0
  if [ -n "${FILES_CONFIG:-}" ] && [ -f "$FILES_CONFIG" ]; then
    grep -Eq '"(secret|public_key)"[[:space:]]*:[[:space:]]*"[^"]+' "$FILES_CONFIG" && return 0
  fi
  grep -Eq '"(secret|public_key)"[[:space:]]*:[[:space:]]*"[^"]+' "$ROOT/conf/config.json"
}

# Exports the development secret when no key is configured; says so when $1 is "loud".
use_dev_secret_if_unkeyed() {
  if ! jwt_key_configured; then
    export FILES_AUTH_JWT_SECRET="$DEV_JWT_SECRET"
    [ "${1:-}" = loud ] && echo "run: no JWT key configured: using the DEVELOPMENT secret (set FILES_AUTH_JWT_SECRET or FILES_AUTH_JWT_PUBLIC_KEY for real use)" >&2
  fi
  return 0
}
