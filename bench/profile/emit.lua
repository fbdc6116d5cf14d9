-- wrk script: POST one emit to a room nobody is in.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"event":"update","room":"empty","data":{"time":1639178370,"file":"a.txt"}}'
