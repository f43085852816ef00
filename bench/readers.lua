-- Many signed-in readers of one thread: each request carries the next reader's bearer token,
-- as the widgets of that many different readers would.
-- wrk -s bench/readers.lua "http://127.0.0.1:PORT/api/v1/sites/SITE/thread?url=…" -- TOKENS
--   TOKENS  a file with one reader token a line
-- Each reader's page is built once (a miss, from the database) and then kept for them alone.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    if line ~= "" then
      table.insert(tokens, "Bearer " .. line)
    end
  end
  -- wrk's threads start at different readers, so that they do not ask for the same ones.
  counter = (thread_no - 1) * 499
end

function request()
  counter = counter + 1
  wrk.headers["Authorization"] = tokens[counter % #tokens + 1]
  return wrk.format()
end
