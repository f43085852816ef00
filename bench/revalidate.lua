-- Afterword live-thread workload: an open page asking again for its thread, as the widget
-- does every 20 seconds, with the ETag of the answer it already has (If-None-Match).
-- wrk -s bench/revalidate.lua "http://127.0.0.1:PORT/api/v1/sites/SITE/thread?url=…"
-- Each wrk thread keeps the ETag of its first answer; the rest are mostly 304 Not Modified.

local etag = nil

function request()
  if etag then
    wrk.headers["If-None-Match"] = etag
  end
  return wrk.format()
end

function response(status, headers, body)
  if status == 200 then
    etag = headers["ETag"] or headers["etag"]
  end
end
