-- wrk script for bench/visits: GET /{code} with a random code from CODES (one code per line, first word), and the
-- JSON summary of summary.lua. With RATE (requests per second over all THREADS threads) the requests are paced:
-- Debian's wrk has no -R, so each thread hands out send times RATE/THREADS apart, and delay() holds a connection
-- until its slot. A slot missed while every connection was busy is sent at once, so the average rate holds; the
-- latency is measured from the send, as wrk always does.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local codes = {}
local interval_ms, next_ms

function init(args)
  for line in io.lines(os.getenv("CODES")) do
    codes[#codes + 1] = "/" .. line:match("^(%S+)")
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  local rate = tonumber(os.getenv("RATE") or "")
  if rate and rate > 0 then
    interval_ms = 1000 * tonumber(os.getenv("THREADS") or "1") / rate
  end
end

function request()
  return wrk.format("GET", codes[math.random(#codes)])
end

if os.getenv("RATE") and tonumber(os.getenv("RATE")) > 0 then
  function delay()
    local now = now_ms()
    next_ms = next_ms or now
    local wait = next_ms - now
    next_ms = next_ms + interval_ms
    if wait < 0 then
      return 0
    end
    return math.floor(wait + 0.5)
  end
end

dofile(os.getenv("WRK_SCRIPTS") .. "/summary.lua")
