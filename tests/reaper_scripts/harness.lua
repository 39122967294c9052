-- Runs one dawgen action script under lua5.4 the way REAPER would: a (fake) project, a real
-- ExecProcess (the command line goes to a real /bin/sh), and REAPER's main loop calling the
-- deferred functions until the action is over. Prints what happened, one fact per line.
--
-- lua5.4 harness.lua REAPER_SCRIPTS_DIR ACTION key=value ...
--   keys: dawgen, port, timeout, project, resource, subfolder, daemon_root, prompt, seed, item_file,
--         kind, key (the Generate MIDI dialog), token, fetch (Settings), model (Get a model's pick)

local root, action = arg[1], arg[2]
local opt = {}
for i = 3, #arg do
  local k, v = arg[i]:match("^([^=]+)=(.*)$")
  opt[k] = v
end
package.path = root .. "/?.lua;" .. root .. "/spec/?.lua;" .. package.path

local Fake = require("fake_reaper")
local f = Fake.new({ tempo = 93, cursor = 10, srate = 44100, project_path = opt.project, resource_path = opt.resource })
f:add_track("Drums")
local bass = f:add_track("Bass")
bass.selected = true
f:add_track("Keys")
local bar = 4 * 60 / f.tempo
f.ts = { 2 * bar, 4 * bar } -- a 2-bar time selection at 93 bpm
if opt.item_file then
  f:add_item(f.tracks[1], { position = 4, length = 2, startoffs = 0.5, file = opt.item_file, selected = true,
                            source_length = 5 })
end

-- REAPER's ExecProcess: run the command line, return "exit code\noutput".
f.exec_handler = function(cmd)
  local p = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = p:read("a")
  local _, _, code = p:close()
  return tostring(code or 0) .. "\n" .. out
end

local settings = { dawgen_path = opt.dawgen, port = opt.port, timeout = opt.timeout or "60",
                   subfolder = opt.subfolder or "dawgen/reaper", daemon_root = opt.daemon_root or "" }
settings.token, settings.fetch = opt.token, opt.fetch
for k, v in pairs(settings) do f:set_ext("dawgen", k, v) end
if action == "get_model" then
  f.inputs = { { opt.model or "" } }
elseif action == "midi" then
  f.inputs = { { opt.kind or "drums", opt.key or "", "1", opt.seed or "" } }
else
  f.inputs = { { opt.prompt or "", "1", opt.seed or "" } }
end
f:install()

local scripts = { generate = "dawgen - Generate at edit cursor.lua", vary = "dawgen - Vary selected item.lua",
                  midi = "dawgen - Generate MIDI into selected track.lua", get_model = "dawgen - Get a model.lua" }
dofile(root .. "/" .. scripts[action])

local printed = {}
local function print_argv()
  for _, job in ipairs(package.loaded["dawgen_client"].jobs()) do
    if not printed[job] then print("ARGV\t" .. table.concat(job.spool.argv, "\t")) end
    printed[job] = true
  end
end

local deadline = os.time() + 90
print_argv()
while #f.deferred > 0 and os.time() < deadline do
  f:step()
  print_argv() -- Get a model starts its request after the catalog came back
  os.execute("sleep 0.02")
end

for _, ins in ipairs(f.inserts) do
  print(string.format("INSERT\t%s\t%s\t%.6f\t%d", ins.file, ins.item.track.name, ins.item.position, ins.undo_depth))
end
for _, name in ipairs(f.undo) do print("UNDO\t" .. name) end
for _, box in ipairs(f.boxes) do print("BOX\t" .. box.msg:gsub("\n", "\\n")) end
print("EXECS\t" .. #f.execs)
if #f.deferred > 0 then
  print("STILL RUNNING")
  os.exit(2)
end
