-- wrk script: POST a GrowthBook remote-evaluation body (a varying user id) to /api/eval/{clientKey}.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"attributes":{"id":"user-' .. n .. '","country":"FR"}}')
end
