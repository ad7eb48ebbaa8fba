-- Single feedback POSTs for wrk. The runner prepends `creds = {...}`, `path = "..."`, `seed = N` (unique per
-- run). Key credentials post a 1-5 rating as a new end user each time (a new feedback); token credentials post
-- a thumbs vote with a new comment each time (a new revision of the interaction's one end-user feedback).
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
  local slot = seed * 104729 + tid * 7919 + n
  local c = creds[slot % #creds + 1]
  local pass = math.floor(slot / #creds)
  local body
  if c.kind == "key" then
    body = string.format('{"interaction_id":%d,"key":"rating","score":%d,"end_user_id":"w%d-%d-%d",' ..
      '"reasons":["accurate_information","thorough_explanation"],"comment":"bench run"}',
      c.iid, slot % 5 + 1, seed, tid, n)
  else
    body = string.format('{"score":%d,"reasons":["%s"],"comment":"run %d-%d-%d"}', pass % 2 == 0 and 1 or -1,
      pass % 2 == 0 and "accurate_information" or "not_helpful", seed, tid, n)
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["Authorization"] = c.auth}, body)
end

function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
