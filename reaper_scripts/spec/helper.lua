-- Shared set-up for the busted specs: module paths, a fake project, and the job files a real
-- `dawgen send` would leave behind.

local H = {}

H.root = (debug.getinfo(1, "S").source:match("^@(.*)/spec/helper%.lua$") or ".")
package.path = H.root .. "/?.lua;" .. H.root .. "/spec/?.lua;" .. package.path

local Fake = require("fake_reaper")

H.SCRIPTS = {
  generate = "dawgen - Generate at edit cursor.lua",
  vary = "dawgen - Vary selected item.lua",
  ["continue"] = "dawgen - Continue selected item.lua",
  separate = "dawgen - Separate selected item into stems.lua",
  midi = "dawgen - Generate MIDI into selected track.lua",
  cancel = "dawgen - Cancel.lua",
  settings = "dawgen - Settings.lua",
  get_model = "dawgen - Get a model.lua",
  harmony = "dawgen - Generate chords into selected track.lua",
  trio = "dawgen - Generate trio at edit cursor.lua",
  bassline = "dawgen - Bass line for selected item.lua",
  harmonize = "dawgen - Harmonize selected item.lua",
  improvise = "dawgen - Melody over selected item.lua",
}

--- Forget loaded client modules, so each test starts from a fresh script instance.
function H.forget()
  for name in pairs(package.loaded) do
    if name == "dawgen_client" or name:match("^dawgen%.") then package.loaded[name] = nil end
  end
end

function H.client()
  return package.loaded["dawgen_client"] or require("dawgen_client")
end

-- One scratch folder per run (spools, stand-in files), removed when Lua closes.
H.tmp = os.tmpname()
os.remove(H.tmp)
os.execute("mkdir -p '" .. H.tmp .. "'")
H.cleaner = setmetatable({}, { __gc = function() os.execute("rm -rf '" .. H.tmp .. "'") end })
local serial = 0
function H.scratch(name)
  serial = serial + 1
  return H.tmp .. "/" .. serial .. "-" .. name
end

-- An executable file standing in for `dawgen` (the unit specs never run it: ExecProcess is fake).
local stub = H.scratch("dawgen")
do
  local fh = assert(io.open(stub, "w"))
  fh:write("#!/bin/sh\nexit 0\n")
  fh:close()
end
H.dawgen_stub = stub

--- A project at 93 bpm in 4/4: tracks Drums, Bass (selected), Keys; edit cursor at 10 s.
function H.project(opts)
  H.forget()
  local o = { tempo = 93, cursor = 10, srate = 44100, project_path = "/projects/song", resource_path = H.scratch("resource") }
  for k, v in pairs(opts or {}) do o[k] = v end
  local f = Fake.new(o) -- the project file, recording path and the rest follow from these
  f:add_track("Drums")
  local bass = f:add_track("Bass")
  bass.selected = true
  f:add_track("Keys")
  f:install()
  f:set_ext("dawgen", "dawgen_path", stub)
  return f
end

function H.settings(f, values)
  for k, v in pairs(values) do f:set_ext("dawgen", k, v) end
end

--- Run an action through its real script file, as REAPER does.
function H.run(name)
  dofile(H.root .. "/" .. H.SCRIPTS[name])
  return H.client()
end

function H.job()
  local jobs = H.client().jobs()
  assert(#jobs == 1, "expected one running request, have " .. #jobs)
  return jobs[1]
end

--- The request as sent: verb, key=value params (in order) and flags of the `dawgen send` argv.
function H.sent(job)
  local argv = job.spool.argv
  local r = { exe = argv[1], verb = argv[3], params = {}, order = {}, flags = {} }
  local i = 4
  while i <= #argv do
    local a = argv[i]
    if a:sub(1, 2) == "--" then
      if a == "--wait" then r.flags.wait = true else r.flags[a:sub(3)] = argv[i + 1]; i = i + 1 end
    else
      local k, v = a:match("^([^=]+)=(.*)$")
      r.params[k] = v
      r.order[#r.order + 1] = k
    end
    i = i + 1
  end
  return r
end

local function write(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
end

--- What `dawgen send --wait` leaves when it ends: stdout, stderr, then the exit code.
function H.finish(job, rc, out, err)
  write(job.spool.paths.out, out or "")
  write(job.spool.paths.err, err or "")
  write(job.spool.paths.rc, tostring(rc) .. "\n")
end

function H.progress(job, err)
  write(job.spool.paths.err, err)
end

--- A real audio file for InsertMedia to find (the fake checks paths with io.open).
function H.wav(name)
  local path = H.scratch(name)
  write(path, "RIFF")
  return path
end

--- `dawgen discover --json` ends (Settings runs it before its pages): its stdout and exit code.
function H.lan(f, out, rc)
  local spool = assert(require("dawgen.discover").pending, "Settings is listening on the LAN")
  H.finish({ spool = spool }, rc or 0, out or "[]\n", "")
  f:step()
end

--- Answer the next dialog with these values (false = the user cancels).
function H.answer(f, values)
  f.inputs[#f.inputs + 1] = values
end

return H
