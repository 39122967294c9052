-- dawgen Reaper scripts: what the project says (tempo, meter, time selection, sample rate, paths,
-- the selected item's source section) and the requests built from it.
--
-- Requests are plain tables: { verb = "generate", params = { {"prompt", "kick"}, ... } } with
-- values already as text, in a fixed order, so the command line and the tests see the same thing.
-- @noindex

local P = {}

--- A number as short text: 2.0 -> "2", 5.161290322 -> "5.16129" (1 microsecond is far below a sample).
function P.num(x)
  local s = string.format("%.6f", x):gsub("0+$", ""):gsub("%.$", "")
  if s == "-0" then s = "0" end
  return s
end

-- Paths: one separator, no trailing slash; case-insensitive comparison on Windows.
local function norm(path, windows)
  local p = tostring(path or ""):gsub("\\", "/"):gsub("/+", "/")
  if #p > 1 then p = p:gsub("/$", "") end
  if windows then p = p:lower() end
  return p
end

--- `path` relative to `root` ("" when equal), or nil when it is not inside it.
function P.relative(path, root, windows)
  local p, r = norm(path, windows), norm(root, windows)
  if p == r then return "" end
  if r ~= "/" and p:sub(1, #r + 1) == r .. "/" then
    return norm(path, false):sub(#r + 2)
  end
  if r == "/" and p:sub(1, 1) == "/" then return norm(path, false):sub(2) end
  return nil
end

function P.is_windows()
  return reaper.GetOS():match("^Win") ~= nil
end

--- The sample rate to ask for, or nil to leave it to the daemon.
local function sample_rate(settings)
  local choice = settings.sample_rate
  if choice == "daemon" then return nil end
  if choice ~= "project" then return tonumber(choice) end
  local use = reaper.GetSetProjectInfo(0, "PROJECT_SRATE_USE", 0, false)
  local rate = reaper.GetSetProjectInfo(0, "PROJECT_SRATE", 0, false)
  if use ~= 1 or not rate or rate <= 0 then
    -- The project follows the audio device: ask the device what it runs at.
    local ok, desc = reaper.GetAudioDeviceInfo("SRATE")
    local dev = ok and tonumber(desc) or nil
    if dev and dev > 0 then rate = dev end
  end
  if rate and rate > 0 then return math.floor(rate + 0.5) end
  return nil
end

local function dirname(path)
  return (path:gsub("\\", "/"):match("^(.*)/[^/]*$")) or ""
end

--- The project's folder: where its .RPP file is (EnumProjects(-1) names it). GetProjectPath() is
--- the *recording* path instead, which may be a subfolder (Audio/) of it; for an unsaved project
--- (no file yet) that recording path is all there is: REAPER's default recording folder from the
--- preferences, where REAPER itself puts recordings until the project is saved. Returns the folder
--- and whether the project is saved.
function P.project_folder()
  local _, file = reaper.EnumProjects(-1)
  if file and file ~= "" then
    local dir = dirname(file)
    if dir ~= "" then return dir, true end
  end
  return reaper.GetProjectPath(), false
end

--- Tempo, meter, cursor, time selection, sample rate and project folder, read once per action.
--- With `at` (an item's position) tempo and meter are read there and the time selection is ignored:
--- the item, not the selection, is then the material.
function P.read_state(settings, at)
  local cursor = reaper.GetCursorPosition()
  local ts_start, ts_end = reaper.GetSet_LoopTimeRange2(0, false, false, 0, 0, false)
  local has_ts = not at and ts_end - ts_start > 1e-9
  local num, denom, tempo = reaper.TimeMap_GetTimeSigAtTime(0, at or (has_ts and ts_start or cursor))
  if not tempo or tempo <= 0 then tempo = reaper.Master_GetTempo() end
  local folder, saved = P.project_folder()
  return {
    cursor = cursor, ts_start = has_ts and ts_start or nil, ts_end = has_ts and ts_end or nil,
    num = num, denom = denom, bpm = tempo, sample_rate = sample_rate(settings),
    project_path = folder, project_saved = saved, windows = P.is_windows(),
  }
end

--- Length in seconds and in 4/4 bars (the protocol's `bars`): from the time selection (unless
--- `from` is given), else `bars` bars of the project's meter from `from` or the edit cursor.
--- Quarter notes come from Reaper's own tempo map, so meter and tempo changes are honoured.
function P.length(state, bars, from)
  local t0, t1, origin
  if state.ts_start and not from then
    t0, t1, origin = state.ts_start, state.ts_end, "time selection"
  else
    t0 = from or state.cursor
    local quarters = bars * state.num * 4 / state.denom
    t1 = reaper.TimeMap_QNToTime(reaper.TimeMap_timeToQN(t0) + quarters)
    origin = P.num(bars) .. " bars"
  end
  local quarters = reaper.TimeMap_timeToQN(t1) - reaper.TimeMap_timeToQN(t0)
  return { seconds = t1 - t0, bars = quarters / 4, origin = origin }
end

--- The `dir` parameter: a subfolder of the daemon's output root that is inside this project.
function P.output_dir(settings, state)
  if settings.results_in ~= "project" then return nil end
  local sub = settings.subfolder
  local rel = ""
  if settings.daemon_root ~= "" then
    rel = P.relative(state.project_path, settings.daemon_root, state.windows)
    if not rel and state.project_saved == false then
      return nil, string.format("This project is not saved yet, so its folder is REAPER's recording folder\n%s\n"
        .. "which is not inside the daemon's output root\n%s\n\nSave the project inside that root first.",
        state.project_path, settings.daemon_root)
    end
    if not rel then
      return nil, string.format(
        "The project folder\n%s\nis not inside the daemon's output root\n%s\n\n"
          .. "Start the daemon with --project on this project, or change \"daemon output root\" "
          .. "or \"results in\" in dawgen - Settings.", state.project_path, settings.daemon_root)
    end
  end
  local dir = rel
  if sub ~= "" then dir = (rel == "") and sub or (rel .. "/" .. sub) end
  if dir == "" then return nil end
  return dir
end

local function add(params, key, value)
  if value ~= nil and value ~= "" then
    params[#params + 1] = { key, type(value) == "number" and P.num(value) or tostring(value) }
  end
end

-- Parameters every audio request carries (model, output format, folder).
local function add_common(params, settings, state, model_key, dir, audio)
  add(params, "model", settings[model_key])
  if audio then
    add(params, "sample_rate", state.sample_rate)
    add(params, "bit_depth", settings.bit_depth)
    add(params, "format", settings.format)
  end
  add(params, "dir", dir)
end

--- MIDI clips at the cursor (midi/generate, docs/PROTOCOL.md): kind, key, count, seed, and whole
--- bars in the project's meter (the MIDI models write whole bars, 1 to 64).
--- inputs = { kind, key, count, seed }.
function P.midi_bars(state, settings)
  local len = P.length(state, tonumber(settings.bars))
  local bar_quarters = state.num * 4 / state.denom
  return math.max(1, math.min(64, math.floor(len.bars * 4 / bar_quarters + 0.5))), len.origin
end

function P.midi_request(state, inputs, settings, dir)
  local bars = P.midi_bars(state, settings)
  local params = {}
  add(params, "kind", inputs.kind)
  add(params, "bpm", state.bpm)
  add(params, "bars", bars)
  add(params, "time_signature", string.format("%d/%d", state.num, state.denom))
  add(params, "key", inputs.key)
  add(params, "count", inputs.count)
  add(params, "seed", inputs.seed)
  add_common(params, settings, state, "model_midi", dir, false)
  return { verb = "midi/generate", params = params, model_key = "model_midi" }
end

--- Generate audio at the cursor: prompt, tempo, length, count, seed.
--- inputs = { prompt, count, seed }; verb is "generate".
function P.generate_request(verb, state, inputs, settings, dir)
  local len = P.length(state, tonumber(settings.bars))
  local params = {}
  add(params, "prompt", inputs.prompt)
  add(params, "bpm", state.bpm)
  add(params, "bars", len.bars)
  add(params, "seconds", len.seconds)
  add(params, "count", inputs.count)
  add(params, "seed", inputs.seed)
  add_common(params, settings, state, "model_generate", dir, true)
  return { verb = verb, params = params, length = len, model_key = "model_generate" }
end

--- Vary, continue, separate: the item's source file and the section of it the item plays.
--- extra = ordered { {key, value}, ... } placed after input/start/end.
function P.item_request(verb, state, item, extra, settings, dir)
  local params = {}
  add(params, "input", item.file)
  add(params, "start", item.start)
  add(params, "end", item.stop)
  for _, kv in ipairs(extra or {}) do add(params, kv[1], kv[2]) end
  add_common(params, settings, state, "model_" .. verb, dir, true)
  return { verb = verb, params = params, model_key = "model_" .. verb }
end

local AUDIO_TYPES = { WAVE = true, FLAC = true, MP3 = true, VORBIS = true, OPUS = true, OGG = true,
                      AIFF = true, WAVPACK = true, CAF = true }

--- The selected item as a source section: file, start, stop (seconds in the file), its place in
--- the project, and why it is not a plain section of one file (nil when it is).
function P.read_item(item)
  local take = reaper.GetActiveTake(item)
  if not take then return nil, "The selected item has no active take." end
  if reaper.TakeIsMIDI(take) then return nil, "The selected item is MIDI; select an audio item." end
  local src = reaper.GetMediaItemTake_Source(take)
  local kind = reaper.GetMediaSourceType(src, "")
  local reasons = {}
  if kind == "SECTION" then
    reasons[#reasons + 1] = "it plays a reversed or section source"
    src = reaper.GetMediaSourceParent(src) or src
    kind = reaper.GetMediaSourceType(src, "")
  end
  local file = reaper.GetMediaSourceFileName(src, "")
  local pos = reaper.GetMediaItemInfo_Value(item, "D_POSITION")
  local len = reaper.GetMediaItemInfo_Value(item, "D_LENGTH")
  local offs = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS")
  local rate = reaper.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE")
  if not AUDIO_TYPES[kind] or file == "" then reasons[#reasons + 1] = "its source is not an audio file (" .. kind .. ")" end
  if reaper.TakeFX_GetCount(take) > 0 then reasons[#reasons + 1] = "it has take FX" end
  if math.abs(rate - 1) > 1e-9 then reasons[#reasons + 1] = "its playback rate is not 1" end
  if math.abs(reaper.GetMediaItemTakeInfo_Value(take, "D_PITCH")) > 1e-9 then reasons[#reasons + 1] = "it is pitch-shifted" end
  local src_len = reaper.GetMediaSourceLength(src)
  local stop = offs + len * rate
  if offs < -1e-9 or stop > src_len + 1e-6 then reasons[#reasons + 1] = "it loops or extends past its source" end
  local _, name = reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "", false)
  return {
    item = item, take = take, track = reaper.GetMediaItem_Track(item), file = file, name = name,
    start = math.max(offs, 0), stop = math.min(stop, src_len), position = pos, length = len,
    not_plain = (#reasons > 0) and table.concat(reasons, "; ") or nil,
  }
end

return P
