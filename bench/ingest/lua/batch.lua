-- Batches of interactions for wrk. The runner prepends `ingest_keys = {...}`, `batch_size = N`, `tag = "..."`.
-- Every item has a new external id, so every item is a new row.
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  n = 0
end

function request()
  n = n + 1
  local parts = {}
  for i = 1, batch_size do
    parts[i] = string.format('{"external_id":"%s-%d-%d-%d","conversation_id":"c%d-%d","end_user_id":"u%d",' ..
      '"messages":[{"role":"system","content":"You are a helpful assistant."},' ..
      '{"role":"user","content":"Question %d: how do I export my data?"}],' ..
      '"response":"Open Settings, choose Data, then Export, and pick a format; the file arrives by e-mail.",' ..
      '"model":"bench-model","model_version":"1","confidence":%.2f,"latency_ms":%d,"prompt_tokens":%d,' ..
      '"completion_tokens":%d,"metadata":{"route":"support"}}',
      tag, tid, n, i, tid, i % 50, i % 97, i, (i % 100) / 100, 100 + i % 400, 20 + i % 30, 40 + i % 60)
  end
  local body = '{"items":[' .. table.concat(parts, ",") .. ']}'
  local key = ingest_keys[n % #ingest_keys + 1]
  return wrk.format("POST", "/api/v1/interactions/batch",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end

function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
