-- wrk script: GET /{code} with a random code from CODES (one code per line, first word), and a JSON summary.
local codes = {}

function init(args)
  for line in io.lines(os.getenv("CODES")) do
    codes[#codes + 1] = "/" .. line:match("^(%S+)")
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  return wrk.format("GET", codes[math.random(#codes)])
end

dofile(os.getenv("WRK_SCRIPTS") .. "/summary.lua")
