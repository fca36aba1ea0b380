-- wrk script for scripts/bench: every request uploads one small file (the bytes of $BENCH_FILE)
-- with a new file name, on wrk's keep-alive connections: a multipart POST, or with BENCH_TUS=1 a
-- tus 1.0 creation-with-upload (POST with Upload-Length, Upload-Metadata filename and the whole
-- body as application/offset+octet-stream; an answer is counted good when it is 201 with
-- Upload-Offset equal to the length: the upload is complete).
-- Environment: BENCH_FILE (the file's bytes), BENCH_PATH (request path), BENCH_TOKEN (bearer
-- token, optional), BENCH_TUS (1: tus), BENCH_STATUS_FILE (where done() writes "<requests>
-- <bad answers> <socket errors> <seconds> <p50 ms> <p99 ms>").
local data, path, token
local head1, head2, tail, ctype
local counter, tno = 0, 0
local tus, length

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end
local threads = {}

function setup(thread)
  tno = tno + 1
  thread:set("tno", tno)
  table.insert(threads, thread)
end

function init(args)
  tno = rawget(_G, "tno") -- set by setup() as a global of this thread's state; the local above shadows it
  local f = assert(io.open(os.getenv("BENCH_FILE"), "rb"))
  data = f:read("*a")
  f:close()
  path = os.getenv("BENCH_PATH")
  token = os.getenv("BENCH_TOKEN")
  tus = os.getenv("BENCH_TUS") == "1"
  length = #data
  local b = "----bench-small-files-" .. tno
  ctype = "multipart/form-data; boundary=" .. b
  head1 = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"small-" .. tno .. "-"
  head2 = ".bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
  tail = "\r\n--" .. b .. "--\r\n"
  bad = 0
end

function request()
  counter = counter + 1
  local headers
  if tus then
    headers = { ["Tus-Resumable"] = "1.0.0", ["Upload-Length"] = tostring(length),
      ["Content-Type"] = "application/offset+octet-stream",
      ["Upload-Metadata"] = "filename " .. base64("small-" .. tno .. "-" .. counter .. ".bin") }
  else
    headers = { ["Content-Type"] = ctype }
  end
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  if tus then return wrk.format("POST", path, headers, data) end
  return wrk.format("POST", path, headers, head1 .. counter .. head2 .. data .. tail)
end

function response(status, headers, body)
  if tus then
    local offset = headers["Upload-Offset"] or headers["upload-offset"]
    if status ~= 201 or tonumber(offset) ~= length then bad = bad + 1 end
  elseif status < 200 or status > 299 then bad = bad + 1 end
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
