-- wrk script of bench/soak.sh: a mix of vial-examples' routes, with every status tallied.
-- The coroutine routes (hello-async, data, fanout, stream, with-timeout) run on the event loop
-- unless vial-examples was started with --bridge.
--
-- Environment: SOAK_USER_IDS, comma-separated ids of users that exist for the whole run
-- (soak.sh creates them). Each thread also creates users with POST and deletes each one with
-- the DELETE that follows its 201, so the table stays the same size.
--
-- Expected answers: 200, 201 (POST /users), 204 (DELETE), and 404 "User not found" from the
-- GET of user 0 in the mix. done() prints one line "soak-statuses {json}" with the totals.

local mix = {
  -- weight, method, path, body
  {30, "GET", "/hello"},
  {15, "GET", "/hello-async"},
  {15, "GET", "/upstream/delay?ms=0"},          -- JSON
  {8, "GET", "/fanout?n=5&ms=2"},               -- 5 calls to the embedded upstream
  {10, "GET", "/users/%id"},
  {5, "GET", "/users"},
  {6, "PUT", "/users/%id", '{"name":"soak %n"}'},
  {5, "POST", "/users", '{"name":"soak","email":"soak-%r-%t-%n@example.com"}'},
  {2, "GET", "/users/0"},                       -- 404 "User not found"
  {4, "GET", "/stream?n=3&ms=2"},               -- server-sent events, chunked
  {6, "GET", "/data?ms=5"},                     -- a coroutine waiting on a timer
  {2, "GET", "/with-timeout?ms=1&timeout=500"}, -- a coroutine under a deadline it meets
}

local counter = 0
local run_id = tostring(os.time())  -- emails stay unique when several runs share a database
thread_id = 0          -- set per thread by setup()
local ids = {}
local to_delete = {}
statuses = {}           -- read by done() through thread:get
unexpected_404 = 0
local total_weight = 0
local json_headers = {["Content-Type"] = "application/json"}

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for id in string.gmatch(os.getenv("SOAK_USER_IDS") or "1", "%d+") do
    table.insert(ids, id)
  end
  for _, entry in ipairs(mix) do total_weight = total_weight + entry[1] end
  math.randomseed(os.time() + thread_id * 7919)
end

local function fill(text)
  counter = counter + 1
  text = string.gsub(text, "%%id", ids[math.random(#ids)])
  text = string.gsub(text, "%%t", tostring(thread_id))
  text = string.gsub(text, "%%r", run_id)
  return (string.gsub(text, "%%n", tostring(counter)))
end

function request()
  local pending = table.remove(to_delete)
  if pending then return wrk.format("DELETE", "/users/" .. pending) end
  local pick = math.random(total_weight)
  for _, entry in ipairs(mix) do
    pick = pick - entry[1]
    if pick <= 0 then
      local body = entry[4] and fill(entry[4]) or nil
      return wrk.format(entry[2], fill(entry[3]), body and json_headers or nil, body)
    end
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    local id = string.match(body, '"id":(%d+)')
    if id then table.insert(to_delete, id) end
  elseif status == 404 and not string.find(body, "User not found", 1, true) then
    unexpected_404 = unexpected_404 + 1
  end
end

function done(summary, latency, requests)
  local totals = {}
  local bad404 = 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + n
    end
    bad404 = bad404 + thread:get("unexpected_404")
  end
  local parts = {}
  for status, n in pairs(totals) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  io.write(string.format('soak-statuses {"statuses":{%s},"unexpected_404":%d}\n',
                         table.concat(parts, ","), bad404))
end
