-- Runs one dawgen action script under lua5.4 the way REAPER would: a (fake) project, a real
-- ExecProcess (the command line goes to a real /bin/sh), and REAPER's main loop calling the
-- deferred functions until the action is over. Prints what happened, one fact per line.
--
-- lua5.4 harness.lua REAPER_SCRIPTS_DIR ACTION key=value ...
--   keys: dawgen, port, timeout, project, resource, subfolder, daemon_root, prompt, seed, item_file,
--         kind, key (the Generate MIDI dialog), token, fetch (Settings), model (Get a model's pick),
--         midi_item (chords | melody: a selected MIDI item on Keys at 4 s, 2 bars), answers (the
--         harmony actions' dialog values, separated by |)

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
-- Two bars (8 quarters, 960 PPQ from the item's start) of C F G C chords, or a melody in C.
local MIDI_ITEMS = {
  chords = { { 0, 1920, { 60, 64, 67 } }, { 1920, 3840, { 60, 65, 69 } }, { 3840, 5760, { 59, 62, 67 } }, { 5760, 7680, { 60, 64, 67 } } },
  melody = { { 0, 960, { 72 } }, { 960, 1920, { 74 } }, { 1920, 2880, { 76 } }, { 2880, 3840, { 77 } }, { 3840, 4800, { 79 } },
             { 4800, 5760, { 77 } }, { 5760, 6720, { 76 } }, { 6720, 7680, { 72 } } },
}
if opt.midi_item then
  local notes = {}
  for _, c in ipairs(MIDI_ITEMS[opt.midi_item]) do
    for _, pitch in ipairs(c[3]) do notes[#notes + 1] = { from = c[1], to = c[2], pitch = pitch, vel = 90 } end
  end
  f:add_item(f.tracks[3], { position = 4, length = 8 * 60 / f.tempo, midi = true, selected = true, name = "Song " .. opt.midi_item,
                            midi_notes = notes })
end
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
elseif opt.answers then
  local values = {}
  for v in (opt.answers .. "|"):gmatch("(.-)|") do values[#values + 1] = v end
  f.inputs = { values }
elseif action == "midi" then
  f.inputs = { { opt.kind or "drums", opt.key or "", "1", opt.seed or "" } }
else
  f.inputs = { { opt.prompt or "", "1", opt.seed or "" } }
end
f:install()

local scripts = { generate = "dawgen - Generate at edit cursor.lua", vary = "dawgen - Vary selected item.lua",
                  midi = "dawgen - Generate MIDI into selected track.lua", get_model = "dawgen - Get a model.lua",
                  harmony = "dawgen - Generate chords into selected track.lua", trio = "dawgen - Generate trio at edit cursor.lua",
                  bassline = "dawgen - Bass line for selected item.lua", harmonize = "dawgen - Harmonize selected item.lua",
                  improvise = "dawgen - Melody over selected item.lua" }
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
for _, ins in ipairs(f.inserts) do
  for _, m in ipairs(ins.item.take.markers or {}) do print(string.format("MARKER\t%s\t%s\t%.6f", ins.file, m.name, m.srcpos)) end
end
for _, t in ipairs(f.tracks) do print("TRACK\t" .. t.name) end
for _, name in ipairs(f.undo) do print("UNDO\t" .. name) end
for _, box in ipairs(f.boxes) do print("BOX\t" .. box.msg:gsub("\n", "\\n")) end
print("EXECS\t" .. #f.execs)
if #f.deferred > 0 then
  print("STILL RUNNING")
  os.exit(2)
end
