-- wrk script for test/t_load.sh: POSTs cleanups of distinct (empty) sessions, so requests
-- do not queue on one session's advisory lock, and counts the answers by status.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  sent = 0
end

function request()
  sent = sent + 1
  local body = '{"test_session_id": "load_' .. tostring(sent) .. '_' .. tostring(math.random(1, 1000000000)) .. '"}'
  return wrk.format("POST", "/api/v1/test-cleanup", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
  local e = summary.errors
  io.write(string.format("socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("requests %d\n", summary.requests))
end
