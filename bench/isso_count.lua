-- Isso counts workload: POST /count with a JSON list of URIs (Isso's equivalent of
-- Afterword's GET /counts?url=...).
-- wrk -s bench/isso_count.lua http://127.0.0.1:PORT/count -- '["/bench/count-01", ...]'

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = args[1]
end
