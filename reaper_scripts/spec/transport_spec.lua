-- The spool transport: the script it writes, how it reads stderr and exit codes.
local H = require("spec.helper")

local function read(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local t = fh:read("a")
  fh:close()
  return t
end

local function write(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
end

describe("transport", function()
  local T
  before_each(function()
    H.project()
    T = require("dawgen.transport")
  end)

  it("runs a real shell on its script: every argument arrives intact, the exit code last", function()
    local f = H.project()
    T = require("dawgen.transport")
    f.exec_handler = function(cmd)
      assert.is_true(os.execute(cmd)) -- what ExecProcess does: run the command line, here via sh
      return "0\n"
    end
    -- A stand-in for dawgen that prints its arguments one per line and fails with code 5.
    local exe = H.scratch("echo-args")
    write(exe, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\necho "to stderr" >&2\nexit 5\n')
    os.execute("chmod +x '" .. exe .. "'")
    local nasty = [[it's "dark" $HOME `id` \ 100% ; & | * ~ ]]
    local argv = T.argv({ dawgen_path = exe, host = "127.0.0.1", port = "9950", timeout = "5" },
      { verb = "generate", params = { { "prompt", nasty }, { "bars", "2" } } }, "rpr-1", true)
    local job = assert(T.launch(argv, "quoting-test", false))
    local deadline = os.time() + 20
    while not read(job.paths.rc) and os.time() < deadline do os.execute("sleep 0.05") end
    local res = T.poll(job)
    assert.are.equal(5, res.exit)
    local lines = {}
    for l in read(job.paths.out):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
    assert.are.same({ "send", "generate", "prompt=" .. nasty, "bars=2", "--host", "127.0.0.1", "--port", "9950",
                      "--timeout", "5", "--id", "rpr-1", "--wait" }, lines)
    assert.matches("to stderr", res.message)
    T.cleanup(job)
    assert.is_nil(read(job.paths.script))
    os.remove(exe)
  end)

  it("starts the script without waiting for it (it backgrounds itself)", function()
    local f = H.project()
    T = require("dawgen.transport")
    local job = assert(T.launch({ "/x/dawgen", "send", "ping" }, "bg", false))
    assert.are.same({ cmd = '/bin/sh "' .. job.paths.script .. '"', timeout = 10000 }, f.execs[1])
    local script = read(job.paths.script)
    assert.matches("%) </dev/null >/dev/null 2>&1 &\n$", script)
    assert.matches("PYTHONUNBUFFERED=1 '/x/dawgen' 'send' 'ping' >'", script)
    assert.truthy(job.paths.script:find(f.resource_path .. "/Data/dawgen-jobs/", 1, true))
  end)

  it("writes a batch file on Windows, quoting for cmd and Python's argument rules", function()
    local f = H.project({ os = "Win64" })
    T = require("dawgen.transport")
    local argv = { "C:\\Program Files\\dawgen\\dawgen.exe", "send", "generate", 'prompt=say "hi" at 100%', "dir=a\\" }
    local job = assert(T.launch(argv, "win", true))
    local function win(path) return (path:gsub("/", "\\")) end
    -- no wait, and minimized: -1 (no wait) would show a console window (ReaScript docs, ExecProcess)
    assert.are.same({ cmd = 'cmd.exe /C "' .. win(job.paths.script) .. '"', timeout = -2 }, f.execs[1])
    local bat = read(job.paths.script)
    assert.matches('^@echo off\r\n', bat)
    assert.truthy(bat:find([["C:\Program Files\dawgen\dawgen.exe" "send" "generate" "prompt=say 'hi' at 100%%" "dir=a\\" >"]], 1, true))
    assert.truthy(bat:find(' >"' .. win(job.paths.out) .. '" 2>"' .. win(job.paths.err) .. '"\r\n', 1, true))
    assert.truthy(bat:find('\r\n>"' .. win(job.paths.rc_tmp) .. '" echo %ERRORLEVEL%\r\n', 1, true))
    assert.truthy(bat:find('move /y "' .. win(job.paths.rc_tmp) .. '" "' .. win(job.paths.rc) .. '" >nul', 1, true))
  end)

  it("reads progress, the daemon's job id and error replies from stderr", function()
    local info = T.parse_err("queued job 4f1c (position 2)\n    0.0% loading\n   42.0% generating, ~1.2s left\n")
    assert.are.same({ job_id = "4f1c", position = 2, fraction = 0.42, stage = "generating", eta = 1.2 }, info)
    info = T.parse_err("dawgen send: out_of_root: dir '../x' climbs out of the output root\n")
    assert.are.equal("out_of_root", info.code)
    assert.are.equal("dir '../x' climbs out of the output root", info.message)
  end)

  it("turns exit codes into outcomes", function()
    local job = { argv = { "/nowhere/dawgen" }, paths = T.paths(T.spool_dir(), "x", false) }
    local function outcome(rc, out, err)
      write(job.paths.out, out); write(job.paths.err, err); write(job.paths.rc, rc .. "\n")
      local res = T.poll(job)
      T.cleanup(job)
      return res
    end
    assert.is_nil((T.poll(job)))
    assert.are.same({ ok = true, paths = { "/p/a.wav", "/p/b.wav" }, job_id = "9" },
      outcome(0, "/p/a.wav\n/p/b.wav\n", "queued job 9 (position 0)\n"))
    assert.are.equal("no_output", outcome(0, "", "").code)
    local r = outcome(127, "", "sh: 1: /nowhere/dawgen: not found\n")
    assert.are.equal("not_runnable", r.code)
    assert.matches("could not run /nowhere/dawgen", r.message)
    r = outcome(1, "", "dawgen send: cancelled: cancelled by request\n")
    assert.are.same({ ok = false, code = "cancelled", message = "cancelled by request", exit = 1 }, r)
    r = outcome(3, "", "dawgen send: [Errno 111] Connection refused\n")
    assert.are.equal("unreachable", r.code)
    assert.matches("Connection refused", r.message)
    assert.are.equal("exit_2", outcome(2, "", "usage: dawgen\n").code)
  end)

  it("makes a fresh request id each time", function()
    local seen = {}
    for _ = 1, 50 do
      local id = T.new_id()
      assert.matches("^rpr%-%x+$", id)
      assert.is_nil(seen[id])
      seen[id] = true
    end
  end)
end)
