-- Concurrent writers: guest comments into one page, each with a unique body (and, for
-- Afterword, an idempotency key), remembering which ones were answered 201.
-- wrk -s bench/writers.lua URL -- KIND ORIGIN PAGE TAG OUT
--   KIND  afterword (JSON as the widget sends it) or isso (POST /new?uri=PAGE)
--   PAGE  the page's URL (afterword) or URI (isso); a page no comment was posted to yet
--   TAG   makes every key of the run unique
--   OUT   a file that gets the key of every comment answered 201, one a line
-- The key sits in the body ("Comment KEY from"), so it comes back in the answer and is
-- stored with the comment: the run can be checked against the database afterwards.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  kind = args[1]
  origin = args[2]
  page = args[3]
  tag = args[4]
  out = args[5]
  counter = 0
  accepted = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Origin"] = origin
  -- Plain answers, so that the key can be read from them.
  wrk.headers["Accept-Encoding"] = nil
end

local TEXT = "Comment %s from the *posting* benchmark: some words about `wrk` and a "
  .. "[link](https://example.org/%s)."

function request()
  counter = counter + 1
  local key = string.format("%s-%d-%d", tag, thread_no, counter)
  local text = string.format(TEXT, key, key)
  local body
  if kind == "isso" then
    body = string.format(
      '{"text":"%s","author":"Bench Writer %d","email":"writer%d@example.org",'
        .. '"title":"Concurrent writers"}',
      text, thread_no, thread_no)
  else
    body = string.format(
      '{"url":"%s","title":"Concurrent writers","parent_id":null,"body":"%s",'
        .. '"name":"Bench Writer %d","email":"writer%d@example.org","idempotency_key":"%s"}',
      page, text, thread_no, thread_no, key)
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 201 then
    local key = string.match(body, "Comment ([%w_-]+) from")
    table.insert(accepted, key or "?")
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(threads[1]:get("out"), "w"))
  for _, thread in ipairs(threads) do
    for _, key in ipairs(thread:get("accepted") or {}) do
      out:write(key, "\n")
    end
  end
  out:close()
end
