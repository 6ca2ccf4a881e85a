-- One request per call, each from the next member of this thread's share of a TSV file of tokens.
-- Settings come from the environment (the runner sets them per scenario):
--   BENCH_FILE     TSV lines: token <tab> field1 <tab> field2 ...
--   BENCH_THREADS  the wrk -t value, so each thread takes every n-th line (distinct members per thread)
--   BENCH_METHOD   GET, POST or PUT
--   BENCH_PATH     a path with {1}, {2} ... replaced by the line's fields
--   BENCH_BODY     an optional JSON body with the same placeholders
--   BENCH_ONCE     "1": each line is used once; a thread whose share runs out stops (no double writes)
-- done() prints one line "BENCHJSON {...}" with throughput, latency percentiles and status counts.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local function split(line)
  local fields = {}
  for field in string.gmatch(line, "[^\t]+") do
    table.insert(fields, field)
  end
  return fields
end

local function fill(template, fields)
  return (string.gsub(template, "{(%d+)}", function(n) return fields[tonumber(n) + 1] or "" end))
end

function init(args)
  local n = tonumber(os.getenv("BENCH_THREADS") or "1")
  method = os.getenv("BENCH_METHOD") or "GET"
  path = os.getenv("BENCH_PATH") or "/healthz"
  body = os.getenv("BENCH_BODY")
  if body == "" then body = nil end
  once = os.getenv("BENCH_ONCE") == "1"
  entries = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_FILE")) do
    if i % n == id - 1 then
      table.insert(entries, split(line))
    end
    i = i + 1
  end
  pos = 0
  sent, ok, client_errors, server_errors, exhausted = 0, 0, 0, 0, 0
  codes = {}
end

function request()
  pos = pos + 1
  if pos > #entries then
    if once then
      exhausted = 1
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
    end
    pos = 1
  end
  local fields = entries[pos]
  sent = sent + 1
  local headers = {["Authorization"] = "Bearer " .. fields[1]}
  local payload = nil
  if body then
    headers["Content-Type"] = "application/json"
    payload = fill(body, fields)
  end
  return wrk.format(method, fill(path, fields), headers, payload)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status >= 500 then
    server_errors = server_errors + 1
  else
    client_errors = client_errors + 1
  end
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {ok = 0, client_errors = 0, server_errors = 0, sent = 0, exhausted_threads = 0}
  local statuses = {}
  for _, thread in ipairs(threads) do
    totals.ok = totals.ok + thread:get("ok")
    totals.client_errors = totals.client_errors + thread:get("client_errors")
    totals.server_errors = totals.server_errors + thread:get("server_errors")
    totals.sent = totals.sent + thread:get("sent")
    totals.exhausted_threads = totals.exhausted_threads + thread:get("exhausted")
    for code, n in pairs(thread:get("codes")) do
      statuses[tostring(code)] = (statuses[tostring(code)] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(statuses) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "bytes": %d, "ok": %d, "client_errors": %d, ' ..
    '"server_errors": %d, "sent": %d, "exhausted_threads": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, totals.ok, totals.client_errors, totals.server_errors,
    totals.sent, totals.exhausted_threads, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean, table.concat(parts, ", ")))
end
