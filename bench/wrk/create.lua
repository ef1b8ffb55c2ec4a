-- wrk script: POST BODY_FILE to PATH with the API key KEY; with IDEMPOTENT=1 each request carries a key of its own.
local body, headers, idempotent, counter, prefix

function init(args)
  local file = io.open(os.getenv("BODY_FILE"), "rb")
  body = file:read("*a")
  file:close()
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("KEY") }
  idempotent = os.getenv("IDEMPOTENT") == "1"
  counter = 0
  prefix = tostring(os.time()) .. "-" .. tostring({}):sub(8) .. "-"
end

function request()
  if idempotent then
    counter = counter + 1
    headers["Idempotency-Key"] = prefix .. counter
  end
  return wrk.format("POST", os.getenv("TARGET_PATH"), headers, body)
end

dofile(os.getenv("WRK_SCRIPTS") .. "/summary.lua")
