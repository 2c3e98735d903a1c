-- wrk script: POST /v1/assignment for a user never seen before (a fresh id per request, per thread): every
-- answer hashes the user and, when they enter an experiment, commits the assignment before replying.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local thread = tostring(math.random(1, 1000000000))
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"userId":"new-' .. thread .. '-' .. n .. '","attributes":{"country":"FR"}}')
end
