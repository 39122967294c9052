-- @description dawgen: AI audio generation and training from a local dawgen daemon
-- @version 0.1.0
-- @author dawgen
-- @about
--   # dawgen for REAPER
--   Generate, vary, continue and separate audio, generate MIDI (drums, melodies, chords, bass lines,
--   harmonisations, trios), and train your own models, through a
--   dawgen daemon running on this computer or on the studio's GPU machine (`dawgen serve`). REAPER
--   never waits: requests run in the background with a progress window, and results land on the grid
--   where the action started.
--   - Set the path of the dawgen executable in "dawgen - Settings" first.
--   - "dawgen - Get a model" downloads a model from the catalog into the daemon.
--   - A daemon on another machine: its host and your client token in Settings; inputs are uploaded
--     and results downloaded into the project.
--   - Every action is in the action list as "Script: dawgen - ...".
-- @provides
--   [nomain] .
--   [main] dawgen - Generate at edit cursor.lua
--   [main] dawgen - Vary selected item.lua
--   [main] dawgen - Continue selected item.lua
--   [main] dawgen - Separate selected item into stems.lua
--   [main] dawgen - Generate MIDI into selected track.lua
--   [main] dawgen - Cancel.lua
--   [main] dawgen - Settings.lua
--   [main] dawgen - Add selected items to a training set.lua
--   [main] dawgen - Train on a training set.lua
--   [main] dawgen - Get a model.lua
--   [main] dawgen - Generate chords into selected track.lua
--   [main] dawgen - Generate trio at edit cursor.lua
--   [main] dawgen - Bass line for selected item.lua
--   [main] dawgen - Harmonize selected item.lua
--   [main] dawgen - Melody over selected item.lua
--   dawgen/settings.lua
--   dawgen/project.lua
--   dawgen/transport.lua
--   dawgen/ui.lua
--   dawgen/place.lua
--   dawgen/tracks.lua
--   dawgen/json.lua
--   dawgen/lora.lua
--   dawgen/dataset.lua
--   dawgen/training.lua
--   dawgen/remote.lua
--   dawgen/catalog.lua
--   dawgen/setup.lua
--   dawgen/advice.lua
--   dawgen/discover.lua
--   dawgen/harmony.lua
--   dawgen/smf.lua
--
-- dawgen client for REAPER: every action's logic; the action scripts only call M.run(name).
--
-- An action reads the project, asks what it must (GetUserInputs), builds a request, starts
-- `dawgen send ... --wait` in the background (dawgen/transport.lua says why), shows progress in a
-- small gfx window while reaper.defer polls, and inserts the result inside one undo block.
-- The parts: dawgen/settings.lua (ExtState), dawgen/project.lua (project state -> request),
-- dawgen/transport.lua (spool files), dawgen/ui.lua (dialogs, progress), dawgen/place.lua (insert),
-- dawgen/training.lua + dawgen/dataset.lua (training sets and `train`), dawgen/remote.lua (a daemon on
-- another machine: token, upload and download), dawgen/catalog.lua (the catalog, `pull`),
-- dawgen/setup.lua (the Settings dialogs), dawgen/advice.lua (what to do about an error),
-- dawgen/harmony.lua + dawgen/smf.lua (chords, bass lines, harmonisation, trios: MIDI in and out).
-- This file is the ReaPack package (the header above, read by tools/make_index.lua); "[nomain] ."
-- installs it without making it an action.

local S = require("dawgen.settings")
local P = require("dawgen.project")
local T = require("dawgen.transport")
local U = require("dawgen.ui")
local L = require("dawgen.place")
local A = require("dawgen.lora")
local R = require("dawgen.training")
local N = require("dawgen.remote")
local C = require("dawgen.catalog")
local G = require("dawgen.setup")
local V = require("dawgen.advice")
local Y = require("dawgen.harmony")

local M = { VERSION = "0.1.0", settings = S, project = P, transport = T, ui = U, place = L, lora = A, remote = N,
            catalog = C }
-- the adapter helpers, where the specs and the actions have always found them
M.LORA_VERBS, M.lora_param, M.add_lora = A.LORA_VERBS, A.lora_param, A.add_lora
M.parse_loras, M.describe_loras = A.parse_loras, A.describe_loras

local GLUE_IGNORING_TIME_SELECTION = 40362 -- "Item: Glue items, ignoring time selection"
local START_GRACE = 15 -- seconds for the background script to start `dawgen` (its stderr file appears)

local running = {} -- this script instance's requests, by request id

-- The ids of requests in flight, shared with the Cancel action (ExtState, not persisted).
local function active_ids()
  local ids = {}
  for id in reaper.GetExtState(S.SECTION, "active"):gmatch("%S+") do ids[#ids + 1] = id end
  return ids
end

local function set_active(id, on)
  local keep = {}
  for _, other in ipairs(active_ids()) do
    if other ~= id then keep[#keep + 1] = other end
  end
  if on then keep[#keep + 1] = id end
  reaper.SetExtState(S.SECTION, "active", table.concat(keep, " "), false)
end

--- Requests this script instance is running (for tests and diagnostics).
function M.jobs()
  local list = {}
  for _, job in pairs(running) do list[#list + 1] = job end
  return list
end

local function explain(job, res)
  local text = "dawgen: " .. job.label .. " failed."
  local h = V.hint(job, res)
  if h then text = text .. "\n\n" .. h end
  return text .. "\n\n" .. tostring(res.code) .. ": " .. tostring(res.message or "")
end

local function missing_files(paths)
  local missing = {}
  for _, p in ipairs(paths) do
    if not reaper.file_exists(p) then missing[#missing + 1] = p end
  end
  return missing
end

local function finish(job, res)
  running[job.id] = nil
  set_active(job.id, false)
  reaper.DeleteExtState(S.SECTION, "cancel:" .. job.id, false)
  job.window:close()
  T.cleanup(job.spool)
  if job.cancel_spool then T.cleanup(job.cancel_spool) end
  if job.input_file then -- a MIDI item written for the request, in its own folder (dawgen/harmony.lua)
    os.remove(job.input_file)
    os.remove((job.input_file:gsub("/[^/]*$", "")))
  end
  job.result = res
  if not res.ok then
    -- A cancel the user asked for needs no dialog; anything else is explained.
    if res.code ~= "cancelled" then U.message(explain(job, res)) end
    return
  end
  if job.on_done then return job.on_done(job, res) end -- results that are not files to insert (train)
  local missing = missing_files(res.paths)
  if #missing > 0 then
    U.message("dawgen wrote files REAPER cannot see (is the daemon on another machine? Set \"upload/download "
      .. "files\" to always in dawgen - Settings):\n" .. table.concat(missing, "\n"))
    return
  end
  local items, err = L.insert(res.paths, job.target, "dawgen: " .. job.label)
  if not items then U.message("dawgen: could not insert the result: " .. err) end
  job.items = items
end

-- Cancel by our request id once the daemon has acknowledged it (before that it would not know it).
local function send_cancel(job)
  local argv = T.argv(job.settings, { verb = "cancel", params = { { "job", job.id } } }, nil, false)
  job.cancel_spool = T.launch(argv, job.id .. ".cancel", P.is_windows())
  job.cancel_sent = true
end

local function tick(job)
  local res, info = T.poll(job.spool)
  if res then return finish(job, res) end
  if reaper.GetExtState(S.SECTION, "cancel:" .. job.id) ~= "" then job.cancelling = true end
  local text, fraction = U.describe(info, job.cancelling)
  if job.window:update(text, fraction) then job.cancelling = true end
  if job.cancelling and not job.cancel_sent and info.job_id then send_cancel(job) end
  local age = reaper.time_precise() - job.started
  if not info.started and age > START_GRACE then
    return finish(job, { ok = false, code = "not_started", message = "the request script never ran: " .. job.spool.paths.script })
  end
  if age > tonumber(job.settings.timeout) + 30 then
    -- `dawgen send --timeout` should have ended it long ago: the process is gone.
    return finish(job, { ok = false, code = "lost", message = "the dawgen process never reported back" })
  end
  reaper.defer(function() tick(job) end)
end

local function forget_all()
  for _, job in pairs(running) do
    set_active(job.id, false)
    job.window:close()
  end
end

--- Start a request in the background and watch it; returns the job, or nil when it cannot start.
function M.start(label, request, target, settings, state)
  local with_lora, lora_err = A.add_lora(request, settings)
  if not with_lora then
    U.message(lora_err)
    return nil
  end
  local exe = settings.dawgen_path
  if exe == "" or not reaper.file_exists(exe) then
    U.message((exe == "" and "The path of the dawgen executable is not set." or ("dawgen was not found at\n" .. exe))
      .. "\n\nSet its full path in dawgen - Settings (e.g. the `dawgen` inside your dawgen virtualenv's bin folder).")
    return nil
  end
  if request.local_only and N.fetching(settings) then U.message(request.local_only) return nil end
  -- A daemon on another machine: upload the input, download the results into the project.
  local fetch = not request.no_fetch and N.fetch_dir(settings, state) or nil
  local id = T.new_id()
  local spool, err = T.launch(T.argv(settings, request, id, true, fetch), id, state.windows)
  if not spool then
    U.message("dawgen: could not start the request.\n\n" .. err)
    return nil
  end
  local job = { id = id, label = label, request = request, target = target, settings = settings,
                spool = spool, started = reaper.time_precise(), project_path = state.project_path,
                window = U.progress(label) }
  running[id] = job
  set_active(id, true)
  reaper.atexit(forget_all)
  reaper.defer(function() tick(job) end)
  return job
end

-- Dialog values -> request fields, or nil and a message.
local function whole(text, name, allow_empty)
  text = S.trim(text)
  if text == "" and allow_empty then return "" end
  local n = tonumber(text)
  if not n or n ~= math.floor(n) or n < 0 then return nil, name:gsub("^%l", string.upper) .. " must be a whole number" end
  return string.format("%d", n)
end

local function read_inputs(v, names)
  local out = {}
  for i, name in ipairs(names) do
    local field = name[1]
    if name[2] == "int" or name[2] == "int?" then
      local val, err = whole(v[i], field, name[2] == "int?")
      if not val then return nil, err end
      out[field] = val
    else
      out[field] = S.trim(v[i])
    end
  end
  return out
end

local function ask(title, fields, names)
  local v = U.inputs(title, fields)
  if not v then return nil end
  local out, err = read_inputs(v, names)
  if not out then U.message(err) end
  return out
end

local function output_dir(s, state)
  local dir, err = N.output_dir(s, state)
  if err then U.message(err) return nil, false end
  return dir, true
end

local function generate(verb, label, remember_key)
  local s = S.load()
  local state = P.read_state(s)
  local dir, ok = output_dir(s, state)
  if not ok then return end
  local len = P.length(state, tonumber(s.bars))
  local title = string.format("dawgen %s: %s bars of 4/4 at %s bpm (%s)", label, P.num(len.bars), P.num(state.bpm), len.origin)
  local v = ask(title, { { "Prompt", S.recall(remember_key) }, { "Count", s.count }, { "Seed (empty = random)", "" } },
    { { "prompt", "text" }, { "count", "int" }, { "seed", "int?" } })
  if not v then return end
  S.remember(remember_key, v.prompt)
  local request = P.generate_request(verb, state, v, s, dir)
  -- Bar-length results are loops (docs/DAW-READY.md): exactly the bars on the grid, loop source on.
  local target = { track = reaper.GetSelectedTrack(0, 0), position = state.cursor, layout = "track", name = "dawgen",
                   fit = { seconds = request.length.seconds, loop = true } }
  return M.start(label, request, target, s, state)
end

local MIDI_KINDS = { drums = true, melody = true }

local function generate_midi()
  local s = S.load()
  local state = P.read_state(s)
  local dir, ok = output_dir(s, state)
  if not ok then return end
  local bars, origin = P.midi_bars(state, s)
  local title = string.format("dawgen Generate MIDI: %d bars of %d/%d at %s bpm (%s)", bars, state.num, state.denom,
    P.num(state.bpm), origin)
  local v = ask(title, { { "Kind (drums or melody)", S.recall("midi_kind", "drums") },
    { "Key (e.g. Am; empty = C)", S.recall("midi_key", "") }, { "Count", s.count }, { "Seed (empty = random)", "" } },
    { { "kind", "text" }, { "key", "text" }, { "count", "int" }, { "seed", "int?" } })
  if not v then return end
  v.kind = v.kind:lower()
  if not MIDI_KINDS[v.kind] then U.message("Kind must be drums or melody") return end
  S.remember("midi_kind", v.kind)
  S.remember("midi_key", v.key)
  local request = P.midi_request(state, v, s, dir)
  local target = { track = reaper.GetSelectedTrack(0, 0), position = state.cursor, layout = "track", name = "dawgen",
                   fit = { seconds = P.length(state, bars, state.cursor).seconds } }
  return M.start("Generate MIDI", request, target, s, state)
end

local function render(item, label)
  reaper.Undo_BeginBlock()
  reaper.SelectAllMediaItems(0, false)
  reaper.SetMediaItemSelected(item, true)
  reaper.Main_OnCommand(GLUE_IGNORING_TIME_SELECTION, 0)
  reaper.Undo_EndBlock("dawgen: render item for " .. label, -1)
  return P.read_item(reaper.GetSelectedMediaItem(0, 0))
end

-- The selected item as a file section, rendered first when the user (or the setting) says so.
local function selected_item(s, label)
  local item = reaper.GetSelectedMediaItem(0, 0)
  if not item then U.message("Select an audio item first.") return nil end
  local info, err = P.read_item(item)
  if not info then U.message(err) return nil end
  if not info.not_plain or s.render == "never" then return info end
  local choice = "yes"
  if s.render == "ask" then
    choice = U.ask("The selected item is not a plain section of one file: " .. info.not_plain .. ".\n\n"
      .. "Render it first (glue, so dawgen gets what you hear)?\n\nYes: render, then send the new file.\n"
      .. "No: send the section of the source file as it is.")
  end
  if choice == "cancel" then return nil end
  if choice == "no" then return info end
  info, err = render(item, label)
  if not info then U.message(err) end
  return info
end

local function item_action(verb, label, dialog)
  local s = S.load()
  local item = selected_item(s, label)
  if not item then return end
  local state = P.read_state(s, item.position)
  local dir, ok = output_dir(s, state)
  if not ok then return end
  local extra, target = dialog(s, state, item)
  if not extra then return end
  return M.start(label, P.item_request(verb, state, item, extra, s, dir), target, s, state)
end

local function vary_dialog(s, state, item)
  local v = ask("dawgen Vary: " .. L.basename(item.file), { { "Prompt (optional)", S.recall("vary_prompt") },
    { "Count", s.count }, { "Seed (empty = random)", "" } }, { { "prompt", "text" }, { "count", "int" }, { "seed", "int?" } })
  if not v then return nil end
  S.remember("vary_prompt", v.prompt)
  return { { "prompt", v.prompt }, { "count", v.count }, { "seed", v.seed }, { "bpm", state.bpm } },
    { track = item.track, position = item.position, layout = "below", name = "dawgen vary" }
end

local function continue_dialog(s, state, item)
  local v = ask("dawgen Continue: " .. L.basename(item.file), { { "Prompt (optional)", S.recall("continue_prompt") },
    { "Bars to add", s.continue_bars }, { "Seed (empty = random)", "" } }, { { "prompt", "text" }, { "bars", "text" }, { "seed", "int?" } })
  if not v then return nil end
  local bars = tonumber(v.bars)
  if not bars or bars <= 0 then U.message("Bars to add must be a number above 0") return nil end
  S.remember("continue_prompt", v.prompt)
  local stop = item.position + item.length
  local len = P.length(state, bars, stop)
  return { { "prompt", v.prompt }, { "seconds", len.seconds }, { "bars", len.bars }, { "bpm", state.bpm }, { "seed", v.seed } },
    { track = item.track, position = stop, layout = "track", name = "dawgen continue", fit = { seconds = len.seconds } }
end

local function separate_dialog(_, _, item)
  local name = item.name ~= "" and item.name or L.basename(item.file)
  return {}, { track = item.track, position = item.position, layout = "folder", name = name .. " stems" }
end

local function cancel_all()
  local ids = active_ids()
  if #ids == 0 then
    U.message("No dawgen request started from REAPER is running.")
    return
  end
  for _, id in ipairs(ids) do reaper.SetExtState(S.SECTION, "cancel:" .. id, "1", false) end
end

M.actions = {
  generate = function() return generate("generate", "Generate", "prompt") end,
  midi = generate_midi,
  vary = function() return item_action("vary", "Vary", vary_dialog) end,
  ["continue"] = function() return item_action("continue", "Continue", continue_dialog) end,
  separate = function() return item_action("separate", "Separate", separate_dialog) end,
  cancel = cancel_all,
  add_to_training_set = R.add_items,
  train = function() return R.train(M.start, P.read_state(S.load())) end,
  settings = G.dialog,
  get_model = function() return C.get(M.start, P.read_state(S.load())) end,
}
for name, action in pairs(Y.actions(function(...) return M.start(...) end)) do M.actions[name] = action end

--- Run one action by name (what each action script does).
function M.run(name)
  local action = M.actions[name]
  if not action then error("dawgen: no action named " .. tostring(name)) end
  return action()
end

return M
