-- dawgen Reaper scripts: the harmony actions (issue #26, docs/PROTOCOL.md's midi/... verbs).
--
--   Generate chords into selected track   midi/generate kind=chords|bass|piano at the edit cursor
--   Generate trio at edit cursor          midi/generate kind=trio: a folder of melody, bass, drums
--   Bass line for selected item           midi/bassline input=<the item's chords>
--   Harmonize selected item               midi/harmonize input=<the item's melody> [voices]
--   Melody over selected item             midi/improvise input=<the item's chords>
--
-- The selected MIDI item is sent as what it plays: its notes from the item's start to its end
-- (muted notes left out), written as a .mid (dawgen/smf.lua) into the request's spool folder and
-- removed when the request ends; a daemon on another machine gets it uploaded (`--fetch`). Results
-- go on a new track below the item's, at its position and length. Each result's chord symbols
-- (the file's marker events) become take markers at their beats; a trio's three tracks become
-- three items on the child tracks of a new folder.
-- @noindex

local S = require("dawgen.settings")
local P = require("dawgen.project")
local T = require("dawgen.transport")
local U = require("dawgen.ui")
local L = require("dawgen.place")
local N = require("dawgen.remote")
local F = require("dawgen.smf")

local H = {}

local function add(params, key, value)
  if value ~= nil and value ~= "" then
    params[#params + 1] = { key, type(value) == "number" and P.num(value) or tostring(value) }
  end
end

-- Dialog fields: { caption, default, key, check } with check "int", "num" or nil (text).
local function ask(title, fields)
  local v = U.inputs(title, fields)
  if not v then return nil end
  local out = {}
  for i, f in ipairs(fields) do
    local text = S.trim(v[i])
    if text ~= "" and f[4] and not tonumber(text) then
      U.message(f[1] .. " must be a number")
      return nil
    end
    if text ~= "" and f[4] == "int" and math.tointeger(tonumber(text)) == nil then
      U.message(f[1] .. " must be a whole number")
      return nil
    end
    out[f[3]] = text
  end
  return out
end

local function with_common(params, v, s, dir)
  add(params, "count", v.count)
  add(params, "seed", v.seed)
  add(params, "model", s.model_midi)
  add(params, "dir", dir)
  return params
end

--- midi/generate of a harmony kind at the cursor: `v` = the dialog's values.
function H.generate_request(state, v, s, dir)
  local params = {}
  add(params, "kind", v.kind)
  add(params, "bpm", state.bpm)
  add(params, "bars", (P.midi_bars(state, s)))
  add(params, "time_signature", string.format("%d/%d", state.num, state.denom))
  for _, key in ipairs({ "key", "chords", "chord_rhythm", "voicing", "complexity", "density" }) do add(params, key, v[key]) end
  return { verb = "midi/generate", params = with_common(params, v, s, dir), model_key = "model_midi" }
end

--- midi/harmonize, midi/bassline, midi/improvise on `input` (the item written as a .mid).
function H.item_request(verb, state, input, v, s, dir)
  local params = {}
  add(params, "input", input)
  add(params, "bpm", state.bpm)
  add(params, "time_signature", string.format("%d/%d", state.num, state.denom))
  for _, key in ipairs({ "voices", "chord_rhythm", "voicing", "complexity", "density", "temperature" }) do
    add(params, key, v[key])
  end
  return { verb = verb, params = with_common(params, v, s, dir), model_key = "model_midi" }
end

--- The selected MIDI item's notes in quarter notes from its start: { item, take, track, name,
--- position, length, notes, quarters } or nil and why.
function H.read_midi_item()
  local item = reaper.GetSelectedMediaItem(0, 0)
  if not item then return nil, "Select a MIDI item first." end
  local take = reaper.GetActiveTake(item)
  if not (take and reaper.TakeIsMIDI(take)) then return nil, "The selected item is not MIDI; select a MIDI item." end
  local pos = reaper.GetMediaItemInfo_Value(item, "D_POSITION")
  local len = reaper.GetMediaItemInfo_Value(item, "D_LENGTH")
  local q0 = reaper.TimeMap_timeToQN(pos)
  local quarters = reaper.TimeMap_timeToQN(pos + len) - q0
  local _, count = reaper.MIDI_CountEvts(take)
  local notes = {}
  for i = 0, count - 1 do
    local _, _, muted, from, to, _, pitch, vel = reaper.MIDI_GetNote(take, i)
    local a = reaper.MIDI_GetProjQNFromPPQPos(take, from) - q0
    local b = math.min(reaper.MIDI_GetProjQNFromPPQPos(take, to) - q0, quarters)
    if not muted and a > -1e-9 and a < quarters - 1e-9 then
      notes[#notes + 1] = { pitch = pitch, start = math.max(a, 0), length = b - math.max(a, 0), velocity = vel }
    end
  end
  local _, name = reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "", false)
  return { item = item, take = take, track = reaper.GetMediaItem_Track(item), name = name, position = pos,
           length = len, notes = notes, quarters = quarters }
end

local function slug(text)
  local s = text:lower():gsub("%.mid$", ""):gsub("[^%w%._%-]+", "-"):gsub("^[-.]+", ""):gsub("-+$", "")
  return s ~= "" and s or "clip"
end

-- The item as a .mid in its own spool subfolder (its name is what the daemon sees: results are
-- named after it). Returns the path, or nil and why.
function H.write_input(info, state)
  local dir = T.spool_dir() .. "/inputs/" .. T.new_id()
  reaper.RecursiveCreateDirectory(dir, 0)
  local path = dir .. "/" .. slug(info.name) .. ".mid"
  local fh, err = io.open(path, "wb")
  if not fh then return nil, "cannot write " .. path .. ": " .. tostring(err) end
  fh:write(F.write(info.notes, { name = info.name ~= "" and info.name or "clip", bpm = state.bpm, num = state.num,
                                 denom = state.denom, length = info.quarters }))
  fh:close()
  return path
end

local function read_result(path)
  local fh = io.open(path, "rb")
  if not fh then return nil, "cannot read " .. path end
  local bytes = fh:read("a")
  fh:close()
  return F.read(bytes)
end

-- A trio file: one file per note track beside it (<name>_melody.mid ...); their track names.
local function split_parts(path, parsed)
  local out, names = {}, {}
  for k, t in ipairs(parsed.tracks) do
    if k > 1 and t.notes > 0 then
      names[#names + 1] = t.name ~= "" and t.name or ("part " .. #names + 1)
      local part = path:gsub("%.mid$", "") .. "_" .. slug(names[#names]) .. ".mid"
      local fh = assert(io.open(part, "wb"))
      fh:write(F.split(parsed, k))
      fh:close()
      out[#out + 1] = part
    end
  end
  return out, names
end

-- Chord symbols as take markers at their beats (the file is at the request's tempo).
local function mark(items, chords_of, bpm)
  for _, item in ipairs(items) do
    local take = reaper.GetActiveTake(item)
    local file = reaper.GetMediaSourceFileName(reaper.GetMediaItemTake_Source(take), "")
    for _, c in ipairs(chords_of[file] or {}) do reaper.SetTakeMarker(take, -1, c.symbol, c.beat * 60 / bpm) end
  end
end

-- What the request does when done: read the files' chords, split a trio, insert, mark.
local function on_done(job, res)
  local paths, chords_of, names = {}, {}, {}
  for _, path in ipairs(res.paths) do
    local parsed, err = read_result(path)
    if not parsed then
      U.message("dawgen: " .. job.label .. ": " .. err .. "\n\n(is the daemon on another machine? Set \"upload/download "
        .. "files\" to always in dawgen - Settings)")
      return
    end
    local parts, part_names = { path }, {}
    if job.split then parts, part_names = split_parts(path, parsed) end
    for i, p in ipairs(parts) do
      paths[#paths + 1] = p
      names[#paths] = part_names[i]
      chords_of[p] = parsed.chords
    end
  end
  local target = job.target
  if job.split then target.names = names end
  target.after = function(items) mark(items, chords_of, job.bpm) end
  local items, err = L.insert(paths, target, "dawgen: " .. job.label)
  if not items then U.message("dawgen: could not insert the result: " .. err) end
  job.items = items
end

local KINDS = { chords = true, bass = true, piano = true }

local function generate(start, trio)
  local s = S.load()
  local state = P.read_state(s)
  local dir, err = N.output_dir(s, state)
  if err then U.message(err) return end
  local bars, origin = P.midi_bars(state, s)
  local title = string.format("dawgen %s: %d bars of %d/%d at %s bpm (%s)", trio and "Trio" or "Chords", bars,
    state.num, state.denom, P.num(state.bpm), origin)
  local fields = { { "Kind (chords / bass / piano)", S.recall("harmony_kind", "chords"), "kind" },
    { "Key (e.g. Am; empty = C)", S.recall("midi_key", ""), "key" },
    { "Chords (e.g. Dm7 G7 Cmaj7; optional)", S.recall("chords", ""), "chords" },
    { "Chord rhythm (bar / half / beat)", "bar", "chord_rhythm" }, { "Voicing (triad / seventh / open)", "triad", "voicing" },
    { "Complexity (0 to 1)", "0.5", "complexity", "num" }, { "Count", s.count, "count", "int" },
    { "Seed (empty = random)", "", "seed", "int" } }
  if trio then table.remove(fields, 5) table.remove(fields, 1) end
  local v = ask(title, fields)
  if not v then return end
  v.kind = trio and "trio" or v.kind:lower()
  if not trio and not KINDS[v.kind] then U.message("Kind must be chords, bass or piano") return end
  if not trio then S.remember("harmony_kind", v.kind) end
  S.remember("midi_key", v.key)
  S.remember("chords", v.chords)
  local request = H.generate_request(state, v, s, dir)
  local target = { track = reaper.GetSelectedTrack(0, 0), position = state.cursor, layout = trio and "folder" or "track",
                   name = trio and "dawgen trio" or "dawgen " .. v.kind, fit = { seconds = P.length(state, bars, state.cursor).seconds } }
  local job = start(trio and "Trio" or "Generate " .. v.kind, request, target, s, state)
  if job then job.on_done, job.split, job.bpm = on_done, trio, state.bpm end
  return job
end

local ITEM_ACTIONS = {
  bassline = { verb = "midi/bassline", label = "Bass line", track = "bass",
               fields = { { "Density (0 to 1)", "0.5", "density", "num" }, { "Temperature (0 to 2)", "1", "temperature", "num" } } },
  harmonize = { verb = "midi/harmonize", label = "Harmonize", track = "chords",
                fields = { { "Voices (empty = chords; 2 / 3 / 4)", "", "voices", "int" },
                           { "Chord rhythm (bar / half / beat; empty = default)", "", "chord_rhythm" },
                           { "Voicing (triad / seventh / open)", "triad", "voicing" }, { "Complexity (0 to 1)", "0.5", "complexity", "num" } } },
  improvise = { verb = "midi/improvise", label = "Melody over", track = "melody",
                fields = { { "Density (0 to 1)", "0.5", "density", "num" }, { "Temperature (0 to 2)", "1", "temperature", "num" } } },
}

local function item_action(start, which)
  local a = ITEM_ACTIONS[which]
  local s = S.load()
  local info, why = H.read_midi_item()
  if not info then U.message(why) return end
  if #info.notes == 0 then U.message("The selected MIDI item plays no notes (muted notes do not count).") return end
  local state = P.read_state(s, info.position)
  local dir, err = N.output_dir(s, state)
  if err then U.message(err) return end
  local fields = {}
  for i, f in ipairs(a.fields) do fields[i] = f end
  fields[#fields + 1] = { "Count", s.count, "count", "int" }
  fields[#fields + 1] = { "Seed (empty = random)", "", "seed", "int" }
  local name = info.name ~= "" and info.name or "MIDI item"
  local v = ask("dawgen " .. a.label .. ": " .. name, fields)
  if not v then return end
  local input, werr = H.write_input(info, state)
  if not input then U.message(werr) return end
  local request = H.item_request(a.verb, state, input, v, s, dir)
  local target = { track = info.track, position = info.position, layout = "below", name = name .. " " .. a.track,
                   fit = { seconds = info.length } }
  local job = start(a.label, request, target, s, state)
  if not job then os.remove(input) return end
  job.on_done, job.bpm, job.input_file = on_done, state.bpm, input
  return job
end

--- The actions, given dawgen_client's start (M.start).
function H.actions(start)
  return {
    harmony = function() return generate(start, false) end,
    trio = function() return generate(start, true) end,
    bassline = function() return item_action(start, "bassline") end,
    harmonize = function() return item_action(start, "harmonize") end,
    improvise = function() return item_action(start, "improvise") end,
  }
end

return H
