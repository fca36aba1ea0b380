#!/usr/bin/env python3
"""The checker of scripts/chaos (docs/chaos.md), run after the faults of one kind are over and every node
is up again. Prints one table line on stdout, the details on stderr; exit status 1 when a check failed.

Reads the clients' logs (chaos_client.py) in --dir, the faults injected (--dir/faults.log), the node
logs (--run/node-<i>.log: the node id of each start), the sibling's logs (--run/sibling/), the
database (--db, a libpq connection string, through psql) and S3Proxy's files (--store: the bucket's
directory). Checks:
  lost         an acknowledged complete file that some node does not serve (after 60 s of retries),
               an acknowledged chunk of an unfinished file that the testChunks probe calls missing, or
               a file whose every chunk was acknowledged but that never completed
  wrong        a download whose SHA-256 differs from the bytes uploaded
  no-object    a chunk row (of this run's files) whose storage_key names no object in the bucket, or a
               retired_chunks row not yet due (delete_after in the future) whose object is already gone
               (a committed chunk's object deleted: a re-send that replaced the row hides it otherwise)
  events-miss  a file.uploaded event of the event outbox (or a completed file without one) that the
               sibling neither received on files.events.<company> nor, where the service has the
               files.api action "events", found by replay
  non-owner    a write recorded by the audit trigger from a node that was not the file's owner (the
               upload_sessions row of that instant names another node, or no row)
  failover-max the longest request answered 200 by a node other than the faulted one, started during
               a fault or within 5 s after it (s)
Also in the details, counted but not failing the run: the answers other than 200 by status and
message, the ERROR lines of the node logs by message, owner rows left (naming a node no longer
running, or of a complete file), and objects in the bucket that no row names (the sweep's business).
"""
import argparse
import hashlib
import http.client
import os
import re
import subprocess
import sys
import time
import urllib.parse

API = "/internal/services/files/v1"


def say(*a):
    print(*a, file=sys.stderr)


def sql(db, query):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", db, "-c", query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def get(node, path, token):
    u = urllib.parse.urlsplit(node)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException) as e:
        return 0, str(e).encode()
    finally:
        conn.close()


def lines(path):
    try:
        with open(path) as f:
            return [l.split() for l in f if l.strip()]
    except FileNotFoundError:
        return []


def main():
    p = argparse.ArgumentParser()
    for a in ("--fault", "--dir", "--run", "--nodes", "--company", "--token", "--db", "--store"):
        p.add_argument(a, required=True)
    a = p.parse_args()
    nodes = a.nodes.split(",")
    base = f"{API}/companies/{a.company}/files"

    requests = lines(os.path.join(a.dir, "requests.log"))
    acked = lines(os.path.join(a.dir, "chunks.log"))
    started = {l[1]: l for l in lines(os.path.join(a.dir, "started.log"))}
    done = {}
    for l in lines(os.path.join(a.dir, "files.log")):
        done.setdefault(l[1], l)
    faults = lines(os.path.join(a.dir, "faults.log"))
    say(f"== {a.fault}: {len(requests)} requests, {len(acked)} chunk acknowledgements, "
        f"{len(started)} files started, {len(done)} completed; faults: {len(faults)}")
    for f in faults:
        say("fault", " ".join(f))
    statuses = {}
    for r in requests:
        statuses[r[7]] = statuses.get(r[7], 0) + 1
    say("answers by status (0: none):", dict(sorted(statuses.items())))
    messages = {}
    for l in lines(os.path.join(a.dir, "errors.log")):
        key = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", f"{l[3]} {l[2]}: {' '.join(l[4:])}")
        messages[key] = messages.get(key, 0) + 1
    for key, n in sorted(messages.items(), key=lambda kv: -kv[1]):
        say(f"  {n:6d} x {key[:200]}")

    lost = wrong = 0
    # every acknowledged complete file, from every node
    for fid, l in done.items():
        for i, node in enumerate(nodes, 1):
            deadline = time.time() + 60
            while True:
                status, body = get(node, f"{base}/{fid}/download", a.token)
                if status == 200 or time.time() > deadline:
                    break
                time.sleep(2)
            if status != 200:
                lost += 1
                say(f"LOST file {fid} from node {i}: {status} {body[:300]!r}")
                break
            if hashlib.sha256(body).hexdigest() != l[4] or len(body) != int(l[3]):
                wrong += 1
                say(f"WRONG BYTES file {fid} from node {i}: {len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()}")
                break
    # acknowledged chunks of files that did not complete
    by_file = {}
    for l in acked:
        by_file.setdefault(l[1], set()).add(int(l[2]))
    for fid, nums in by_file.items():
        if fid in done:
            continue
        total = int(started[fid][2]) if fid in started else 0
        missing = []
        for n in sorted(nums):
            status, _ = get(nodes[n % len(nodes)], f"{base}/{fid}?chunk_number={n}", a.token)
            if status != 200:
                missing.append((n, status))
        if missing:
            lost += 1
            say(f"LOST chunks of unfinished file {fid}: {missing}")
        elif total and len(nums) == total:
            status, body = get(nodes[0], f"{base}/{fid}", a.token)
            if b'"upload_status":"complete"' not in body.replace(b" ", b""):
                lost += 1
                say(f"LOST file {fid}: every chunk acknowledged, never complete: {status} {body[:300]!r}")

    ids = set(started)
    in_list = ",".join(f"'{f}'" for f in ids) or "NULL"

    # chunk rows without their object
    no_object = 0
    for fid, gen, num, key in sql(a.db, f"SELECT file_id, generation, chunk_number, storage_key FROM chunks WHERE file_id IN ({in_list})"):
        if not os.path.isfile(os.path.join(a.store, key)):
            no_object += 1
            say(f"NO OBJECT for chunk row {fid} generation {gen} chunk {num}: {key}")
    for fid, key, due in sql(a.db, "SELECT file_id, storage_key, delete_after FROM retired_chunks"
                                   f" WHERE file_id IN ({in_list}) AND delete_after > (extract(epoch FROM now()) * 1000)::bigint"):
        if not os.path.isfile(os.path.join(a.store, key)):
            no_object += 1
            say(f"NO OBJECT for retired chunk row of {fid} (due {due}): {key}")

    # events: the outbox's file.uploaded of this run's files, received or replayed
    events_missing = 0
    expected = {}
    deadline = time.time() + 60
    received = set()
    while True:
        expected = {r[0]: r[1] for r in sql(a.db, f"SELECT id, file_id FROM event_outbox WHERE type = 'file.uploaded' AND file_id IN ({in_list})")}
        received = {l[2] for l in lines(os.path.join(a.run, "sibling", "events.log")) if l[0] == "received" and l[1] == "company"}
        if set(expected) <= received or time.time() > deadline:
            break
        time.sleep(2)
    with_event = set(expected.values())
    for fid in done:
        if fid not in with_event:
            events_missing += 1
            say(f"EVENT MISSING from the outbox: no file.uploaded for completed file {fid}")
    not_received = {e: f for e, f in expected.items() if e not in received}
    say(f"events: {len(expected)} file.uploaded in the outbox, {len(expected) - len(not_received)} received on the company address")
    replayed, replay_state = set(), "not tried"
    # replay always, so that the details show whether it works even when every event came live
    replay_log = os.path.join(a.run, "sibling", "replay.log")
    try:
        os.remove(replay_log)
    except FileNotFoundError:
        pass
    open(os.path.join(a.run, "sibling", "replay.request"), "w").close()
    deadline = time.time() + 90
    while time.time() < deadline:
        ls = lines(replay_log)
        if ls and ls[-1][0] == "replay" and ls[-1][1] in ("done", "unavailable"):
            replay_state = " ".join(ls[-1])
            replayed = {l[1] for l in ls if l[0] == "replayed"}
            break
        time.sleep(1)
    else:
        replay_state = "no answer from the sibling"
    say(f"replay: {replay_state}; of the {len(expected)} outbox events, {len(set(expected) & replayed)} replayed")
    for e, f in not_received.items():
        if e not in replayed:
            events_missing += 1
            say(f"EVENT MISSING {e} (file.uploaded of {f}): not received, not replayed")

    # one owner per write
    node_of_id = {}
    for i in range(1, len(nodes) + 1):
        try:
            with open(os.path.join(a.run, f"node-{i}.log"), errors="replace") as f:
                for m in re.finditer(r"owned as node (\S+)", f.read()):
                    node_of_id[m.group(1)] = i
        except FileNotFoundError:
            pass
    ip_of_node = {urllib.parse.urlsplit(n).hostname: i for i, n in enumerate(nodes, 1)}
    non_owner = 0
    writes = sql(a.db, f"SELECT at, tbl, op, file_id, coalesce(chunk::text, '-'), host(writer), coalesce(owner_node, '-'), "
                       f"coalesce(owner_epoch::text, '-') FROM chaos_audit WHERE file_id IN ({in_list}) ORDER BY id")
    for at, tbl, op, fid, chunk, writer, owner, epoch in writes:
        w = ip_of_node.get(writer)
        o = node_of_id.get(owner)
        if w is None or o != w:
            non_owner += 1
            say(f"WRITE BY NON-OWNER at {at}: {op} {tbl} file {fid} chunk {chunk} by node {w} ({writer}); "
                f"owner row: {owner} (node {o}) epoch {epoch}")
    say(f"writes audited: {len(writes)}")

    # informational: ERROR lines of the node logs (all starts), owner rows left, objects no row names
    errors = {}
    for i in range(1, len(nodes) + 1):
        try:
            with open(os.path.join(a.run, f"node-{i}.log"), errors="replace") as f:
                log = f.read().splitlines()
                for n, line in enumerate(log):
                    if " ERROR " in line:
                        m = line.split(" ERROR ", 1)[1].strip()
                        if n + 1 < len(log) and re.match(r"[\w.$]+(Exception|Error)\b", log[n + 1]):
                            m += " / " + log[n + 1].strip()  # the exception logged with it
                        m = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", m)
                        m = re.sub(r"request [0-9a-f]+", "request <id>", re.sub(r"thread-\d+", "thread-N", m))[:220]
                        errors[m] = errors.get(m, 0) + 1
        except FileNotFoundError:
            pass
    say(f"ERROR lines in the node logs so far (all phases): {sum(errors.values())}")
    for m, n in sorted(errors.items(), key=lambda kv: -kv[1])[:10]:
        say(f"  {n:6d} x {m}")
    live = set()
    for i in range(1, len(nodes) + 1):
        # the node id of each node's last start
        try:
            with open(os.path.join(a.run, f"node-{i}.log"), errors="replace") as f:
                ids = re.findall(r"owned as node (\S+)", f.read())
            if ids:
                live.add(ids[-1])
        except FileNotFoundError:
            pass
    owners = sql(a.db, "SELECT u.owner_node, f.generation IS NOT NULL AND f.upload_generation IS NULL"
                       " FROM upload_sessions u LEFT JOIN files f ON f.id = u.file_id")
    say(f"owner rows now: {len(owners)}, naming a node no longer running: {sum(1 for o in owners if o[0] not in live)},"
        f" of a complete file: {sum(1 for o in owners if o[1] == 't')}")
    named = {r[0] for r in sql(a.db, "SELECT storage_key FROM chunks UNION SELECT storage_key FROM retired_chunks"
                                     " UNION SELECT storage_key FROM thumbnails")}
    orphans = 0
    for d, _, fs in os.walk(a.store):
        for fn in fs:
            key = os.path.relpath(os.path.join(d, fn), a.store)
            if not key.startswith(".") and key not in named:
                orphans += 1
    say(f"objects in the bucket that no row names (so far, all phases): {orphans}")

    # failover: the longest 200 from a node other than the faulted one, during a fault or 5 s after
    failover = 0.0
    windows = [(float(f[0]), float(f[1]) + 5, f[3]) for f in faults]
    for r in requests:
        if r[7] != "200":
            continue
        t0, t1, node = float(r[0]), float(r[1]), r[3]
        for s, e, faulted in windows:
            if s <= t0 <= e and node != faulted:
                failover = max(failover, t1 - t0)
    lat = sorted(float(r[1]) - float(r[0]) for r in requests if r[7] == "200")
    if lat:
        say(f"latency of 200s: median {lat[len(lat) // 2]:.2f} s, p99 {lat[int(len(lat) * 0.99)]:.2f} s, max {lat[-1]:.2f} s")

    print(f"{a.fault:<10} {len(requests):>9} {len(acked):>8} {len(done):>6} {lost:>5} {wrong:>6} {no_object:>12} "
          f"{events_missing:>11} {non_owner:>10} {failover:>13.2f}")
    sys.exit(1 if lost or wrong or no_object or events_missing or non_owner else 0)


if __name__ == "__main__":
    main()
