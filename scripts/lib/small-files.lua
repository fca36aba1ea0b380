-- wrk script for scripts/bench: every request is a multipart POST of one small file (the bytes of
-- $BENCH_FILE) with a new file name, on wrk's keep-alive connections.
-- Environment: BENCH_FILE (the file's bytes), BENCH_PATH (request path), BENCH_TOKEN (bearer
-- token, optional), BENCH_STATUS_FILE (where done() writes "<requests> <non-2xx> <errors>").
local data, path, token
local head1, head2, tail, ctype
local counter, tno = 0, 0
local threads = {}

function setup(thread)
  tno = tno + 1
  thread:set("tno", tno)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_FILE"), "rb"))
  data = f:read("*a")
  f:close()
  path = os.getenv("BENCH_PATH")
  token = os.getenv("BENCH_TOKEN")
  local b = "----bench-small-files-" .. tno
  ctype = "multipart/form-data; boundary=" .. b
  head1 = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"small-" .. tno .. "-"
  head2 = ".bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
  tail = "\r\n--" .. b .. "--\r\n"
  bad = 0
end

function request()
  counter = counter + 1
  local headers = { ["Content-Type"] = ctype }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", path, headers, head1 .. counter .. head2 .. data .. tail)
end

function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do non2xx = non2xx + (t:get("bad") or 0) end
  local e = summary.errors
  local f = io.open(os.getenv("BENCH_STATUS_FILE"), "w")
  f:write(string.format("%d %d %d %.3f %.1f %.1f\n", summary.requests, non2xx,
    e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  f:close()
end
