#!/usr/bin/env bash
# usage: scripts/lib/bench-cluster.sh RUNS HEAP WORK DATA PORT
# The cluster part of scripts/bench (which runs it; it can also run alone). An S3Proxy and three
# clustered nodes (storage.type s3, one database of their own, -Xmx HEAP) on 127.0.0.1, HTTP ports
# PORT+1..PORT+3, Hazelcast PORT+11..PORT+13, S3Proxy PORT. RUNS alternated runs of:
#   - a 1 GiB file uploaded in 8 MiB chunks, 4 requests at a time, spread round-robin over the three
#     nodes, and the same through one node (MB/s, from initialisation to the last answer);
#   - failover: a chunked upload's session is started on node 3 (its first chunk goes there), node 3
#     is killed with SIGKILL, and the next chunk is sent at once to node 1: the time from the kill to
#     its 200 (ms); node 3 is then started again.
# Prints one line per figure: "cluster_spread MB/s", "cluster_one MB/s", "cluster_failover ms".
# Works in WORK/cluster; keeps the 1 GiB test file in DATA.
set -euo pipefail
. "$(dirname "$0")/common.sh"
RUNS=$1 HEAP=$2 WORK=$3/cluster DATA=$4 PORT=$5
S3_PORT=$PORT
BENCH_PG=${FILES_BENCH_PG:-postgresql://postgres@127.0.0.1:5432}
DB="$BENCH_PG/files_bench_cluster_$$"
mkdir -p "$WORK/s3/files" "$DATA"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }

S3_JAR=$ROOT/target/s3proxy/s3proxy.jar
[ -s "$S3_JAR" ] || (cd "$ROOT" && mvn -q -B -ntp -Dstyle.color=never dependency:copy@s3proxy 2>&1 | strip_ansi >&2)
cat >"$WORK/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=bench
s3proxy.credential=bench-secret
s3proxy.ignore-unknown-headers=true
jclouds.provider=filesystem
jclouds.filesystem.basedir=$WORK/s3
CONF

declare -A PID
cleanup() {
  for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
  command -v psql >/dev/null && psql -q "$BENCH_PG/postgres" -c "DROP DATABASE IF EXISTS files_bench_cluster_$$ WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
java -jar "$S3_JAR" --properties "$WORK/s3proxy.conf" >"$WORK/s3proxy.log" 2>&1 & PID[s3]=$!
for _ in $(seq 1 120); do curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break; sleep 0.5; done

use_dev_secret_if_unkeyed
export FILES_ENCRYPTION_MASTER_KEY=$(head -c 32 /dev/urandom | base64) FILES_DB_URL=$DB FILES_HTTP_HOST=127.0.0.1 \
  FILES_STORAGE_TYPE=s3 FILES_STORAGE_S3_ENDPOINT="http://127.0.0.1:$S3_PORT" FILES_STORAGE_S3_BUCKET=files \
  FILES_STORAGE_S3_ACCESS_KEY=bench FILES_STORAGE_S3_SECRET_KEY=bench-secret FILES_STORAGE_S3_PATH_STYLE=true \
  FILES_CLUSTER_ENABLED=true FILES_CLUSTER_NAME="files-bench-$$" FILES_CLUSTER_HOST=127.0.0.1 \
  FILES_CLUSTER_MEMBERS="127.0.0.1:$((PORT + 11)),127.0.0.1:$((PORT + 12)),127.0.0.1:$((PORT + 13))" \
  FILES_LIMITS_MAX_REQUEST_BYTES=$((64 * 1024 * 1024)) FILES_THUMBNAILS_WORKERS=0
start() { # i
  FILES_HTTP_PORT=$((PORT + $1)) FILES_CLUSTER_PORT=$((PORT + 10 + $1)) FILES_STORAGE_LOCAL_PATH="$WORK/node-$1" \
    java -Xmx"$HEAP" "${JVM_FLAGS[@]}" -jar "$JAR" >>"$WORK/node-$1.log" 2>&1 &
  PID[$1]=$!
  for _ in $(seq 1 240); do
    curl -sf -o /dev/null "http://127.0.0.1:$((PORT + $1))/health/ready" && return 0
    kill -0 "${PID[$1]}" 2>/dev/null || break; sleep 0.25
  done
  echo "bench: cluster node $1 did not start:" >&2; tail "$WORK/node-$1.log" >&2; exit 1
}
for i in 1 2 3; do start "$i"; done

COMPANY=$(cat /proc/sys/kernel/random/uuid)
TOKEN=$(java -cp "$JAR" dev.files.auth.TokenTool --sub "$(cat /proc/sys/kernel/random/uuid)" --company "$COMPANY" --ttl 7200)
AUTH=(-H "Authorization: Bearer $TOKEN")
api() { echo "http://127.0.0.1:$((PORT + $1))/internal/services/files/v1/companies/$COMPANY/files"; }

# 1 GiB of random bytes, in 8 MiB chunks
FILE=$DATA/cluster-1024.bin BYTES=$((1024 * 1024 * 1024)) CHUNK=$((8 * 1024 * 1024)) N=128
[ "$(stat -c %s "$FILE" 2>/dev/null || echo 0)" = "$BYTES" ] || openssl enc -aes-128-ctr -pass pass:files-bench -nosalt -pbkdf2 \
  -in <(head -c "$BYTES" /dev/zero) -out "$FILE" 2>/dev/null
mkdir -p "$WORK/chunks"
for ((c = 1; c <= N; c++)); do
  [ -s "$WORK/chunks/$c" ] || dd if="$FILE" of="$WORK/chunks/$c" bs=1M skip=$(( (c - 1) * 8 )) count=8 status=none
done
init() { # node size chunks -> id
  curl -sS "${AUTH[@]}" -X POST "$(api "$1")?filename=big.bin&total_size=$2&total_chunks=$3" | grep -o '"id":"[0-9a-f-]\{36\}"' | head -1 | cut -d'"' -f4
}
chunk() { # node id c -> http code
  curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' "${AUTH[@]}" -F "file=@$WORK/chunks/$3;type=application/octet-stream" \
    "$(api "$1")/$2?chunk_number=$3&total_chunks=$N&total_size=$BYTES"
}
export -f chunk api; export WORK N BYTES PORT COMPANY; export AUTH_HEADER="Authorization: Bearer $TOKEN"
upload() { # nodes (1 or 3) -> seconds
  local nodes=$1 t0 id codes
  t0=$(now); id=$(init 1 "$BYTES" "$N")
  codes=$(seq 1 "$N" | xargs -P 4 -I{} bash -c 'AUTH=(-H "$AUTH_HEADER"); echo "$(chunk $(( ({} - 1) % '"$nodes"' + 1 )) '"$id"' {})"' | sort | uniq -c)
  local t; t=$(since "$t0")
  [[ $codes =~ ^[[:space:]]*$N\ 200$ ]] || { echo "bench: cluster chunk answers: $codes" >&2; exit 1; }
  curl -sS -X DELETE -o /dev/null "${AUTH[@]}" "$(api 1)/$id"
  echo "$t"
}
# Runs in this shell (not in $(...)): it starts node 3 again, whose PID the cleanup must know.
failover() { # -> FAILOVER_MS, from the SIGKILL of the session's owner (node 3) to the next chunk's 200 through node 1
  local id t0 code
  id=$(init 1 $((2 * CHUNK)) 2)
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' "${AUTH[@]}" -F "file=@$WORK/chunks/1;type=application/octet-stream" "$(api 3)/$id?chunk_number=1&total_chunks=2&total_size=$((2 * CHUNK))")
  [ "$code" = 200 ] || { echo "bench: failover: first chunk answered $code" >&2; exit 1; }
  kill -9 "${PID[3]}" || { echo "bench: failover: node 3 was not running" >&2; exit 1; }
  t0=$(now)
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' "${AUTH[@]}" -F "file=@$WORK/chunks/2;type=application/octet-stream" "$(api 1)/$id?chunk_number=2&total_chunks=2&total_size=$((2 * CHUNK))")
  FAILOVER_MS=$(awk -v t="$(since "$t0")" 'BEGIN{printf "%.0f", t*1000}')
  [ "$code" = 200 ] || { echo "bench: failover: chunk after the kill answered $code" >&2; exit 1; }
  wait "${PID[3]}" 2>/dev/null || true # (and no "Killed" notice from the shell)
  start 3
  curl -sS -X DELETE -o /dev/null "${AUTH[@]}" "$(api 1)/$id"
}

echo "bench: cluster: warming up" >&2
upload 3 >/dev/null
for ((r = 1; r <= RUNS; r++)); do
  sync; s=$(upload 3); sync; o=$(upload 1); failover; f=$FAILOVER_MS
  echo "cluster_spread $(awk -v b="$BYTES" -v t="$s" 'BEGIN{printf "%.0f", b/t/1e6}')"
  echo "cluster_one $(awk -v b="$BYTES" -v t="$o" 'BEGIN{printf "%.0f", b/t/1e6}')"
  echo "cluster_failover $f"
  echo "bench: cluster run $r/$RUNS: spread over 3 nodes ${s}s, one node ${o}s, failover ${f} ms" >&2
done
