-- wrk script: GET /{code} with a random code from CODES (one code per line, first word), and a JSON summary.
-- With SEQUENTIAL=1 each thread walks the codes in order instead: a first pass that visits every one.
local codes = {}
local sequential = os.getenv("SEQUENTIAL") == "1"
local next_code = 0

function init(args)
  for line in io.lines(os.getenv("CODES")) do
    codes[#codes + 1] = "/" .. line:match("^(%S+)")
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  if sequential then
    next_code = next_code % #codes + 1
    return wrk.format("GET", codes[next_code])
  end
  return wrk.format("GET", codes[math.random(#codes)])
end

dofile(os.getenv("WRK_SCRIPTS") .. "/summary.lua")
