#!/usr/bin/env python3
"""Upload clients of scripts/chaos (standard library only).

usage: chaos_client.py --nodes URL,URL,... --company UUID --token JWT --seconds N --clients N --out DIR
                       [--grace S] [--seed N]

Each client (a thread) uploads files of 4 to 20 chunks (4-48 KiB each, random bytes; the last chunk
carries the remainder, as Resumable.js does) for --seconds: it initialises the file on a random node
(POST .../files with total_chunks and total_size), then sends the chunks in a random order, each to a
random node, re-sends about one chunk in five after it was acknowledged, and retries every chunk
that was not answered 200 (any status, a timeout of 45 s, a refused connection) on another random
node until it is, or until --grace seconds after the end of the run. Files started before the end are
finished; none is started after it.

It writes, in --out:
  requests.log   one line per request: t_start t_end client node kind file chunk status (t: Unix s)
  chunks.log     one line per acknowledged chunk: t file chunk sha256_of_chunk node
  files.log      one line per completed file (the 200 whose resource says upload_status complete,
                 or a later chunk's): t file total_chunks size sha256_of_file
  started.log    one line per initialised file: t file total_chunks size sha256_of_file
  errors.log     one line per answer other than 200: t node kind status message (the error body's
                 "message"; "-" for no answer)
A chunk answered with a 200 is acknowledged: the service promised to keep it.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid

API = "/internal/services/files/v1"
# longer than the service's upload.commit_timeout_ms (30 s by default), so that its own answer to a
# commit it could not confirm is seen, not a client timeout
TIMEOUT_S = 45


class Logs:
    def __init__(self, out):
        self.lock = threading.Lock()
        self.files = {name: open(os.path.join(out, name), "a", buffering=1)
                      for name in ("requests.log", "chunks.log", "files.log", "started.log", "errors.log")}

    def write(self, name, *fields):
        line = " ".join(str(f) for f in fields) + "\n"
        with self.lock:
            self.files[name].write(line)


def request(node, method, path, token, body=None, content_type=None):
    """One HTTP request; answers (status, parsed JSON or None); status 0 for no answer."""
    u = urllib.parse.urlsplit(node)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT_S)
    try:
        headers = {"Authorization": "Bearer " + token}
        if content_type:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return resp.status, doc
    except (OSError, http.client.HTTPException):
        return 0, None
    finally:
        conn.close()


def multipart(data, name):
    boundary = "chaos" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), "multipart/form-data; boundary=" + boundary


def complete(doc):
    try:
        return doc["resource"]["upload_status"] == "complete"
    except (KeyError, TypeError):
        return False


def client(idx, args, nodes, logs, stop_at, give_up_at, rnd):
    base = f"{API}/companies/{args.company}/files"

    def send(kind, fid, chunk, method, path, body=None, ctype=None):
        node = rnd.randrange(len(nodes))
        t0 = time.time()
        status, doc = request(nodes[node], method, path, args.token, body, ctype)
        logs.write("requests.log", f"{t0:.3f}", f"{time.time():.3f}", idx, node + 1, kind, fid, chunk, status)
        if status != 200:
            message = doc.get("message", "-") if isinstance(doc, dict) else "-"
            logs.write("errors.log", f"{t0:.3f}", node + 1, kind, status, " ".join(str(message).split()))
        return status, doc, node + 1

    while time.time() < stop_at:
        total = rnd.randint(4, 20)
        sizes = [rnd.randint(4096, 48 * 1024) for _ in range(total)]
        chunks = [os.urandom(s) for s in sizes]
        whole = b"".join(chunks)
        size, digest = len(whole), hashlib.sha256(whole).hexdigest()
        name = f"chaos-{idx}-{uuid.uuid4().hex[:8]}.bin"
        q = urllib.parse.urlencode({"filename": name, "type": "application/octet-stream",
                                    "total_chunks": total, "total_size": size})
        fid = None
        while fid is None and time.time() < give_up_at:
            status, doc, _ = send("init", "-", 0, "POST", f"{base}?{q}")
            if status == 200 and doc and "resource" in doc:
                fid = doc["resource"]["id"]
            else:
                time.sleep(0.2)
        if fid is None:
            return
        logs.write("started.log", f"{time.time():.3f}", fid, total, size, digest)
        todo = list(range(1, total + 1))
        rnd.shuffle(todo)
        acked = set()
        done = False
        while todo and time.time() < give_up_at:
            n = todo.pop(0)
            cq = urllib.parse.urlencode({"chunk_number": n, "total_chunks": total, "total_size": size})
            body, ctype = multipart(chunks[n - 1], name)
            status, doc, node = send("chunk", fid, n, "POST", f"{base}/{fid}?{cq}", body, ctype)
            if status == 200:
                logs.write("chunks.log", f"{time.time():.3f}", fid, n, hashlib.sha256(chunks[n - 1]).hexdigest(), node)
                first = n not in acked
                acked.add(n)
                if complete(doc) and not done:
                    done = True
                    logs.write("files.log", f"{time.time():.3f}", fid, total, size, digest)
                if first and rnd.random() < 0.2:  # a re-send, later, of an acknowledged chunk
                    todo.insert(rnd.randrange(len(todo) + 1), n)
            else:
                todo.insert(rnd.randrange(len(todo) + 1), n)
                time.sleep(0.1)
        if not done and len(acked) == total:
            # every chunk acknowledged but no answer said complete (the completing answer was lost):
            # the metadata says whether the file is complete
            while time.time() < give_up_at:
                status, doc, _ = send("meta", fid, 0, "GET", f"{base}/{fid}")
                if status == 200:
                    if complete(doc):
                        logs.write("files.log", f"{time.time():.3f}", fid, total, size, digest)
                    break
                time.sleep(0.5)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", required=True)
    p.add_argument("--company", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--grace", type=float, default=120)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    nodes = args.nodes.split(",")
    logs = Logs(args.out)
    stop_at = time.time() + args.seconds
    give_up_at = stop_at + args.grace
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"chaos clients: {args.clients} clients, seed {seed}", file=sys.stderr)
    threads = [threading.Thread(target=client, daemon=True,
                                args=(i + 1, args, nodes, logs, stop_at, give_up_at, random.Random(seed + i)))
               for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
