-- Afterword posting workload: guest comments as the widget sends them, one unique body each.
-- wrk -s bench/post.lua http://127.0.0.1:PORT/api/v1/sites/SITE/comments -- ORIGIN PAGE_URL TAG
-- TAG keeps idempotency keys unique across runs against one database (a repeated key with
-- the same body would be answered 200 with the earlier comment instead of storing one).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  origin = args[1]
  page_url = args[2]
  tag = args[3] or "run"
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Origin"] = origin
end

function request()
  counter = counter + 1
  local key = string.format("%s-%d-%d", tag, thread_no, counter)
  local body = string.format(
    '{"url":"%s","title":"Posting benchmark","parent_id":null,'
      .. '"body":"Comment %s from the *posting* benchmark: some words about `wrk` and a '
      .. '[link](https://example.org/%s).","name":"Bench Writer %d",'
      .. '"email":"writer%d@example.org","idempotency_key":"%s"}',
    page_url, key, key, thread_no, thread_no, key)
  return wrk.format(nil, nil, nil, body)
end
