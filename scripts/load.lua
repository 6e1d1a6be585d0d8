-- wrk script of scripts/load.sh (not meant to be run alone): replays a load plan against one
-- API of the local mode and checks every answer against the status the plan expects.
--
-- Environment (set by load.sh):
--   LOAD_PLAN  the plan, one request a line: category TAB method TAB path TAB expected status
--              TAB token (empty: no Authorization header)
--   LOAD_OUT   a directory: thread-N.log (one line per answer: plan index, status, latency in
--              microseconds) and summary (wrk's own figures and this script's totals)
--   LOAD_THREADS  wrk's -t, which must equal -c (see below)
--
-- Why one connection per wrk thread: wrk calls request() to build a request and response() with
-- the answer, but response() is not told which connection (hence which request) it answers, and
-- a thread multiplexes its connections. With exactly one connection per thread and no pipelining
-- (wrk's default), a thread has at most one request in flight, sent by its latest request() call:
-- wrk re-arms the write only after a complete answer (c->pending reaches 0), and after a socket
-- error the request is lost and the next request() replaces it. So `pending` below is exactly
-- the request being answered. A per-thread FIFO over several connections would not be. The
-- script checks that: an answer with nothing pending (`stray`) or a request while one is pending
-- (`unanswered`) is counted, and load.sh fails on either.
--
-- Latency: from request() to response(), with CLOCK_MONOTONIC through LuaJIT's ffi; wrk takes
-- its own timestamps at the same two points.
--
-- Each thread has its own Lua state (init, request, response); setup and done run in a separate
-- one, which reads the threads' scalar globals with thread:get (tables are not copied reliably
-- by wrk 4.1). The per-answer log is flushed when wrk exits.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } load_timespec;
int clock_gettime(int clk_id, load_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("load_timespec")
local function now_us()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local function load_plan()
    local file = os.getenv("LOAD_PLAN") or error("LOAD_PLAN is not set")
    local out = {}
    for line in io.lines(file) do
        local cat, method, path, expected, token =
            line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
        if not cat then error("bad plan line " .. (#out + 1)) end
        local headers = { ["Accept"] = "application/json" }
        local body = nil
        if token ~= "" then headers["Authorization"] = "Bearer " .. token end
        if method == "POST" or method == "PUT" or method == "PATCH" then
            headers["Content-Type"] = "application/json"
            body = '{"type":"hamster","price":9.99}'
        end
        out[#out + 1] = { req = wrk.format(method, path, headers, body), expected = tonumber(expected) }
    end
    if #out == 0 then error("empty plan") end
    return out
end

-- ---- setup and done (their own Lua state) ----------------------------------------------------

local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
    thread:set("id", #threads)
end

function done(summary, latency, requests)
    local t = { checked = 0, wrong = 0, unanswered = 0, stray = 0 }
    for _, thread in ipairs(threads) do
        for k in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
    end
    local f = assert(io.open(os.getenv("LOAD_OUT") .. "/summary", "w"))
    local e = summary.errors
    f:write(("threads %d\nrequests %d\nduration_us %d\nbytes %d\n"):format(
        #threads, summary.requests, summary.duration, summary.bytes))
    f:write(("err_connect %d\nerr_read %d\nerr_write %d\nerr_status %d\nerr_timeout %d\n"):format(
        e.connect, e.read, e.write, e.status, e.timeout))
    f:write(("wrk_p50 %d\nwrk_p90 %d\nwrk_p99 %d\nwrk_max %d\nwrk_mean %.1f\n"):format(
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        latency.mean))
    for k, v in pairs(t) do f:write(("lua_%s %d\n"):format(k, v)) end
    f:close()
end

-- ---- the threads ------------------------------------------------------------------------------

function init(args)
    plan = load_plan()
    local n = tonumber(os.getenv("LOAD_THREADS") or "1")
    -- Spread the threads over the plan; each one cycles through all of it.
    pos = math.floor((id - 1) * #plan / n)
    checked, wrong, unanswered, stray, calls = 0, 0, 0, 0, 0
    pending, started = nil, 0
    log = assert(io.open(os.getenv("LOAD_OUT") .. "/thread-" .. id .. ".log", "w"))
    log:setvbuf("full", 65536)
end

function request()
    if not plan then plan, pos = load_plan(), 0 end
    calls = (calls or 0) + 1
    -- A request still pending was lost with its connection (socket error; wrk reconnects).
    -- Except on thread 1's second call: wrk checks the request its first call returns (after
    -- init, before the run) and never sends it.
    if pending and not (id == 1 and calls == 2 and checked == 0) then
        unanswered = unanswered + 1
    end
    pos = pos % #plan + 1
    pending, started = pos, now_us()
    return plan[pos].req
end

function response(status, headers, body)
    local i = pending
    if not i then
        stray = stray + 1
        return
    end
    pending = nil
    local us = now_us() - started
    checked = checked + 1
    if status ~= plan[i].expected then wrong = wrong + 1 end
    log:write(i, " ", status, " ", math.floor(us + 0.5), "\n")
end
