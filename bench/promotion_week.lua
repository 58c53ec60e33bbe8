-- One kind of page of the promotion-week load (bench/promotion_week.py starts one
-- wrk per kind, at the same time). Arguments: the kind, a comma-separated list of
-- paths, the share of requests sent with a cart-holder's cookie (0-100), the cookie.
-- Reports latency.lua's JSON line plus "hits": the responses served from the page cache.
local paths = {}
local cart_share = 0
local cookie = ""

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

function init(args)
  for p in string.gmatch(args[2] or "/", "[^,]+") do paths[#paths + 1] = p end
  cart_share = tonumber(args[3] or "0")
  cookie = args[4] or ""
  math.randomseed(os.time() * 100 + (tid or 0) * 7919)
  hits = 0
  answered = 0
  bad = ""  -- the status of every answer wrk counts as an error, for the report
end

request = function()
  local path = paths[math.random(#paths)]
  if math.random(100) <= cart_share then
    return wrk.format("GET", path, { ["Cookie"] = cookie, ["Accept-Encoding"] = "gzip" })
  end
  return wrk.format("GET", path, { ["Accept-Encoding"] = "gzip" })
end

response = function(status, headers, body)
  answered = answered + 1
  if status > 399 then bad = bad .. status .. " " end
  if headers["X-Cache"] == "HIT" then hits = hits + 1 end
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local all_hits, all_answered, all_bad = 0, 0, ""
  for _, t in ipairs(threads) do
    all_hits = all_hits + t:get("hits")
    all_answered = all_answered + t:get("answered")
    all_bad = all_bad .. t:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    '{"rps": %.1f, "p50": %.2f, "p90": %.2f, "p95": %.2f, "p99": %.2f, "errors": %d, "non2xx": %d, "hits": %d, "answered": %d,'
    .. ' "why": "connect %d, read %d, write %d, timeout %d, statuses: %s"}\n',
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, all_hits, all_answered, e.connect, e.read, e.write, e.timeout, all_bad))
end
