-- wrk script: POST /v1/assignment for a returning user (1,000 ids in turn). After the first round every answer
-- is a stored, remembered assignment: the steady state of an app asking on each session start.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"userId":"user-' .. (n % 1000) .. '","attributes":{"country":"FR"}}')
end
