-- dawgen Reaper scripts: talking to the daemon without sockets and without blocking Reaper.
--
-- Lua inside Reaper has no sockets, and reaper.ExecProcess with a timeout blocks the UI thread
-- until the command ends. So each request is a tiny shell script (a .bat on Windows) that runs
-- `dawgen send VERB key=value ... --wait` in the background with stdout, stderr and, last of all,
-- the exit code sent to files; ExecProcess only starts it, which returns at once. The action then
-- polls those files from reaper.defer: stderr carries the progress lines, stdout the output paths,
-- and the exit-code file appears (by rename, so never half-written) when the request is over.
-- @noindex

local N = require("dawgen.remote")

local T = {}

T.NO_WAIT_MINIMIZED = -2 -- ExecProcess: do not wait, start minimized (Windows)
T.POSIX_WAIT_MS = 10000  -- ExecProcess: the POSIX script returns as soon as it has backgrounded the work

local function trim(s) return (tostring(s or ""):gsub("^%s+", ""):gsub("%s+$", "")) end

--- A request id of our own, so Cancel can name the job before the daemon has answered.
function T.new_id()
  local t = math.floor((reaper.time_precise() * 1000) % 0x1000000)
  return string.format("rpr-%06x%06x", math.random(0, 0xffffff), t)
end

--- The argument vector of one `dawgen send` call (the executable first). `fetch_dir`: upload
--- `input` and download the results there (a daemon on another machine, dawgen/remote.lua).
--- The client token is not an argument (a command line shows in every process list): it rides in
--- `argv.env` as DAWGEN_TOKEN, which the script sets for the `dawgen` process alone.
function T.argv(settings, request, req_id, wait, fetch_dir)
  local argv = { settings.dawgen_path, "send", request.verb }
  for _, kv in ipairs(request.params) do argv[#argv + 1] = kv[1] .. "=" .. kv[2] end
  local flags = { "--host", settings.host, "--port", settings.port, "--timeout", settings.timeout }
  for _, f in ipairs(flags) do argv[#argv + 1] = f end
  if req_id then argv[#argv + 1] = "--id"; argv[#argv + 1] = req_id end
  if wait then argv[#argv + 1] = "--wait" end
  if fetch_dir then argv[#argv + 1] = "--fetch"; argv[#argv + 1] = fetch_dir end
  argv.env = N.env(settings)
  return argv
end

-- The environment assignments of a script, sorted by name: { {name, value}, ... }.
local function env_pairs(argv)
  local list = {}
  for k, v in pairs(argv.env or {}) do list[#list + 1] = { k, tostring(v) } end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  return list
end

-- POSIX sh: everything inside single quotes is literal; a quote itself is closed, escaped, reopened.
function T.sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- cmd.exe + the MSVCRT argument rules Python uses on Windows. A literal double quote cannot be
-- carried safely through a batch line, so it becomes a single quote; % is doubled for the batch
-- parser; trailing backslashes are doubled so they do not escape the closing quote.
function T.cmd_quote(s)
  local v = tostring(s):gsub('"', "'"):gsub("[\r\n]", " ")
  v = v:gsub("(\\+)$", "%1%1"):gsub("%%", "%%%%")
  return '"' .. v .. '"'
end

-- Windows separators, for what cmd.exe reads.
local function native(path) return (path:gsub("/", "\\")) end

--- File names of one request's spool: script, stdout, stderr, exit code.
function T.paths(dir, name, windows)
  local base = dir .. "/" .. name
  return { script = base .. (windows and ".bat" or ".sh"), out = base .. ".out", err = base .. ".err",
           rc = base .. ".rc", rc_tmp = base .. ".rc.tmp" }
end

function T.posix_script(argv, p)
  local words, env = {}, ""
  for i, a in ipairs(argv) do words[i] = T.sh_quote(a) end
  -- `NAME=value command`: set for that one process (and what it starts), not in its arguments.
  for _, kv in ipairs(env_pairs(argv)) do env = env .. kv[1] .. "=" .. T.sh_quote(kv[2]) .. " " end
  return table.concat({
    "#!/bin/sh",
    "# dawgen request, written by dawgen_client.lua: runs `dawgen send` in the background;",
    "# the exit code is written last, by rename, so its file is never seen half-written.",
    "(",
    "  " .. env .. "PYTHONUNBUFFERED=1 " .. table.concat(words, " ") .. " >" .. T.sh_quote(p.out) .. " 2>" .. T.sh_quote(p.err),
    "  echo $? >" .. T.sh_quote(p.rc_tmp),
    "  mv -f " .. T.sh_quote(p.rc_tmp) .. " " .. T.sh_quote(p.rc),
    ") </dev/null >/dev/null 2>&1 &",
    "",
  }, "\n")
end

function T.windows_script(argv, p)
  local words, lines = {}, {
    "@echo off",
    "rem dawgen request, written by dawgen_client.lua; the exit code is written last, by rename.",
    "set PYTHONUNBUFFERED=1",
  }
  for i, a in ipairs(argv) do words[i] = T.cmd_quote(a) end
  -- `set "NAME=value"` (quoted: nothing after the value, and & | < > stay literal); % doubled.
  for _, kv in ipairs(env_pairs(argv)) do
    lines[#lines + 1] = 'set "' .. kv[1] .. "=" .. kv[2]:gsub('["\r\n]', ""):gsub("%%", "%%%%") .. '"'
  end
  for _, line in ipairs({
    table.concat(words, " ") .. " >" .. T.cmd_quote(native(p.out)) .. " 2>" .. T.cmd_quote(native(p.err)),
    ">" .. T.cmd_quote(native(p.rc_tmp)) .. " echo %ERRORLEVEL%",
    "move /y " .. T.cmd_quote(native(p.rc_tmp)) .. " " .. T.cmd_quote(native(p.rc)) .. " >nul",
    "",
  }) do lines[#lines + 1] = line end
  return table.concat(lines, "\r\n")
end

local function write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  f:write(text)
  f:close()
  return true
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

--- Where request spools live: REAPER's resource folder, never the project or a fixed path.
-- Files are opened with forward slashes (fine on Windows too); only what cmd.exe reads
-- (the batch text and the command line) gets native separators, which its built-ins want.
function T.spool_dir()
  local dir = reaper.GetResourcePath():gsub("\\", "/") .. "/Data/dawgen-jobs"
  reaper.RecursiveCreateDirectory(dir, 0)
  return dir
end

--- Start `argv` in the background; returns a job { name, argv, paths } or nil and why.
function T.launch(argv, name, windows)
  local dir = T.spool_dir()
  -- The script path goes inside double quotes on the command line: keep it free of what a shell
  -- would still interpret there.
  if dir:find('["$`\\]') then
    return nil, "REAPER's resource path has characters a command line cannot carry: " .. dir
  end
  local p = T.paths(dir, name, windows)
  for _, f in ipairs({ p.out, p.err, p.rc, p.rc_tmp }) do os.remove(f) end
  local ok, err = write_file(p.script, windows and T.windows_script(argv, p) or T.posix_script(argv, p))
  if not ok then return nil, "cannot write " .. p.script .. ": " .. tostring(err) end
  -- ExecProcess's timeout (ReaScript docs): 0 = wait without limit, > 0 = wait that many ms,
  -- -1 = no wait, -2 = no wait and minimized. POSIX: the script puts the work in the background
  -- and exits, so waiting (at most 10 s) costs milliseconds and gives its exit status. Windows:
  -- cmd.exe runs the whole request, so never wait; -2 also keeps its console window minimized
  -- instead of flashing up (or staying) in front of REAPER.
  local cmd = windows and ('cmd.exe /C "' .. native(p.script) .. '"') or ('/bin/sh "' .. p.script .. '"')
  local result = reaper.ExecProcess(cmd, windows and T.NO_WAIT_MINIMIZED or T.POSIX_WAIT_MS)
  -- Without a wait (Windows) there is no exit status to read; a script that never starts is caught
  -- by the caller when its stderr file does not appear.
  if result == nil and not windows then
    os.remove(p.script)
    return nil, "REAPER could not start " .. cmd
  end
  -- A script that holds the token goes as soon as it has run: POSIX sh parsed the whole backgrounded
  -- ( ... ) before it returned. cmd.exe reads a batch file as it goes: that one stays until cleanup.
  if argv.env and not windows then os.remove(p.script) end
  return { name = name, argv = argv, paths = p }
end

--- What stderr says so far: queue position, daemon job id, latest progress, error reply.
function T.parse_err(text)
  local info = {}
  for line in (text or ""):gmatch("[^\r\n]+") do
    local job, pos = line:match("^queued job (%S+) %(position (%d+)%)")
    if job then info.job_id, info.position = job, tonumber(pos) end
    local frac, stage = line:match("^%s*([%d%.]+)%%%s+([^,]+)")
    if frac then
      info.fraction, info.stage = tonumber(frac) / 100, trim(stage)
      info.eta = tonumber(line:match("~([%d%.]+)s left") or "")
    end
    local step, steps, loss = line:match("^%s*step (%d+)/(%d+), loss ([%d%.eE+%-naif]+)")
    if step then info.step, info.steps, info.loss = tonumber(step), tonumber(steps), tonumber(loss) end
    local code, message = line:match("^dawgen send: ([%w_]+): (.*)$")
    if code then info.code, info.message = code, message
    elseif line:match("^dawgen send: ") or line:match("^dawgen: ") then info.message = line end
  end
  return info
end

local function tail(text, n)
  local lines = {}
  for line in (text or ""):gmatch("[^\r\n]+") do lines[#lines + 1] = line end
  return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end

--- Exit code -> outcome. 0 done; 1 an error reply; 3 no daemon / timeout; 126/127 (and Windows'
--- 9009) the executable could not be run; anything else is reported with the end of stderr.
local function outcome(rc, out_text, err_text, argv)
  local info = T.parse_err(err_text)
  if rc == 0 then
    local paths = {}
    for line in (out_text or ""):gmatch("[^\r\n]+") do
      if trim(line) ~= "" then paths[#paths + 1] = trim(line) end
    end
    if #paths == 0 then return { ok = false, code = "no_output", message = "dawgen finished but named no file" } end
    return { ok = true, paths = paths, job_id = info.job_id }
  end
  if rc == 126 or rc == 127 or rc == 9009 then
    return { ok = false, code = "not_runnable", exit = rc,
             message = "could not run " .. tostring(argv[1]) .. "\n" .. tail(err_text, 3) }
  end
  if info.code then return { ok = false, code = info.code, message = info.message, exit = rc } end
  local msg = tail(err_text, 4)
  if msg == "" then msg = "dawgen exited with code " .. tostring(rc) end
  return { ok = false, code = rc == 3 and "unreachable" or "exit_" .. tostring(rc), message = msg, exit = rc }
end

--- nil while running (plus what stderr says so far), else the outcome.
function T.poll(job)
  local rc_text = read_file(job.paths.rc)
  local err_text = read_file(job.paths.err)
  if not rc_text then
    local info = T.parse_err(err_text)
    info.started = err_text ~= nil -- the script's redirection creates it as dawgen starts
    return nil, info
  end
  err_text = err_text or ""
  local rc = tonumber(trim(rc_text)) or -1
  return outcome(rc, read_file(job.paths.out), err_text, job.argv)
end

--- Remove a finished request's spool files.
function T.cleanup(job)
  for _, f in pairs(job.paths) do os.remove(f) end
end

T.read_file = read_file

--- Run a short command (a list, a catalog) in the background and hand its stdout to
--- done(text) when it exits 0, else done(nil, why, rc). `where` names the daemon in the message for
--- exit 3; `what` the thing waited for (`no <what> within N s`). Returns the spool, or nil when it
--- could not start (done was then called).
function T.collect(argv, tag, windows, grace, where, what, done)
  local spool, err = T.launch(argv, T.new_id() .. "." .. tag, windows)
  if not spool then done(nil, err) return nil end
  local started = reaper.time_precise()
  local function poll()
    local rc = read_file(spool.paths.rc)
    if rc then
      local out, err_text = read_file(spool.paths.out) or "", read_file(spool.paths.err) or ""
      T.cleanup(spool)
      local code = tonumber(trim(rc))
      if code == 0 then return done(out) end
      if code == 3 then return done(nil, "no dawgen daemon answered at " .. where, code) end
      local info = T.parse_err(err_text)
      return done(nil, info.code and (info.code .. ": " .. tostring(info.message)) or info.message
        or ("dawgen exited with code " .. trim(rc)), code)
    end
    if reaper.time_precise() - started > grace then
      T.cleanup(spool)
      return done(nil, "no " .. what .. " within " .. grace .. " s")
    end
    reaper.defer(poll)
  end
  reaper.defer(poll)
  return spool
end

return T
