-- Each request a catalog URL nobody asked for before in this run (the page cache
-- never holds it): a filter combination with a unique page size or search.
-- Reports like latency.lua. Set the kind with:  wrk ... -s first_view.lua -- listing|filtered|search
-- or  -- product slug1,slug2,...  (a product page under a query string never seen).
local kinds = { listing = true, filtered = true, search = true, product = true }
local kind = "listing"
local slugs = {}
local words = { "mat", "ong", "tra", "gao", "banh", "nuoc", "mam", "ruou", "mien", "ca", "phe", "nam", "buoi",
  "lua", "hoa", "lan", "mut", "cha" }
local quals = { "truyen", "huu", "dac", "thuong", "sach", "rung", "cao", "nguyen", "thu", "vung", "loai" }
local provinces = { "ha-noi", "bac-ninh", "lao-cai", "an-giang", "vinh-long", "hue", "dak-lak", "son-la" }

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)  -- each thread its own random sequence: no URL asked twice
end

function init(args)
  if args[1] and kinds[args[1]] then kind = args[1] end
  if args[2] then for s in string.gmatch(args[2], "[^,]+") do slugs[#slugs + 1] = s end end
  math.randomseed(os.time() * 100 + (tid or 0) * 7919)
end

request = function()
  local unique = math.random(1, 1000000000)
  local path
  if kind == "product" then
    path = "/san-pham/" .. slugs[math.random(#slugs)] .. "?n=" .. unique
  elseif kind == "search" then
    path = "/san-pham?q=" .. words[math.random(#words)] .. "+" .. quals[math.random(#quals)] .. "&n=" .. unique
  elseif kind == "filtered" then
    path = "/san-pham?stars=" .. math.random(3, 5) .. "&province=" .. provinces[math.random(#provinces)]
      .. "&in_stock=1&sort=" .. ({ "newest", "price_asc", "price_desc" })[math.random(3)] .. "&n=" .. unique
  else
    path = "/san-pham?page=" .. math.random(1, 50) .. "&n=" .. unique
  end
  return wrk.format("GET", path)
end

-- The report: the same JSON line as latency.lua.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "latency.lua")
