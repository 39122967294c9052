-- A fake REAPER for the busted specs and the integration harness: a small project model behind
-- the real ReaScript function names and signatures. It is strict twice over: a name that is not in
-- spec/reascript_api.txt (REAPER's own list) fails as "not a ReaScript function", and a real name
-- this fake does not model fails too, so the client can only use functions that exist, in the way
-- this fake expects them to be called. Where REAPER's docs leave room (InsertMedia's selection,
-- GetProjectPath being the recording folder), the fake takes the least convenient reading.

local Fake = {}
Fake.__index = Fake

-- REAPER's API names: { reaper = {name = true}, gfx = {name = true} }.
local function api_names()
  local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  local names = { reaper = {}, gfx = {} }
  for line in io.lines(dir .. "/reascript_api.txt") do
    if not line:match("^#") and line:match("%S") then
      local space, name = line:match("^(gfx)%.(.+)$")
      names[space or "reaper"][name or line] = true
    end
  end
  return names
end
Fake.API = api_names()

local function strict(t, what)
  for name, v in pairs(t) do
    if type(v) == "function" then
      assert(Fake.API[what][name], "fake " .. what .. " defines " .. name .. ", which is not in reascript_api.txt")
    end
  end
  return setmetatable(t, { __index = function(_, k)
    if Fake.API[what][k] then error("fake " .. what .. ": " .. what .. "." .. tostring(k) .. " is not modelled by the fake", 2) end
    error("fake " .. what .. ": " .. what .. "." .. tostring(k) .. " is not a ReaScript function", 2)
  end })
end

local function expect(obj, kind, fn)
  if type(obj) ~= "table" or obj.kind ~= kind then
    error(string.format("fake reaper: %s expects a %s, got %s", fn, kind, tostring(obj)), 3)
  end
end

function Fake.new(opts)
  local f = setmetatable({
    tempo = 120, num = 4, denom = 4, cursor = 0, ts = { 0, 0 },
    srate = 48000, srate_use = 1, device_srate = "48000",
    project_path = "/projects/song", resource_path = nil, os = "Other",
    tracks = {}, ext = {}, persisted = {},
    inputs = {}, dialogs = {}, boxes = {}, box_answers = {},
    deferred = {}, exits = {}, execs = {}, exec_handler = nil,
    undo_depth = 0, undo = {}, inserts = {}, commands = {}, clock = 0,
    insert_on_last_track = false, glued = 0,
    gfx_open = false, gfx_chars = {}, gfx_texts = {},
  }, Fake)
  for k, v in pairs(opts or {}) do f[k] = v end
  assert(f.resource_path, "fake reaper: give resource_path (a scratch folder)")
  -- project_path is the folder of the project file; GetProjectPath answers the recording folder.
  if f.project_file == nil then f.project_file = f.project_path .. "/song.RPP" end
  if f.record_path == nil then
    f.record_path = f.project_file ~= "" and f.project_path .. "/Audio" or "/home/me/Documents/REAPER Media"
  end
  f.media = f.media or {}
  f.reaper = strict(f:api(), "reaper")
  f.gfx = f:make_gfx()
  return f
end

--- Install as the globals REAPER provides.
function Fake:install()
  _G.reaper, _G.gfx = self.reaper, self.gfx
  return self
end

-- Project model ---------------------------------------------------------------------------------
function Fake:add_track(name, depth)
  local t = { kind = "track", name = name or "", depth = depth or 0, compact = 0, selected = false, items = {} }
  self.tracks[#self.tracks + 1] = t
  return t
end

function Fake:track_index(track)
  for i, t in ipairs(self.tracks) do if t == track then return i end end
  return nil
end

function Fake:add_item(track, o)
  o = o or {}
  local src = { kind = "source", type = o.type or "WAVE", file = o.file or "/media/loop.wav", length = o.source_length or 60,
                srate = o.srate or 48000, channels = o.channels or 2, signal = o.signal }
  if o.section then src = { kind = "source", type = "SECTION", file = "", length = src.length, parent = src } end
  local take = { kind = "take", source = src, startoffs = o.startoffs or 0, playrate = o.playrate or 1,
                 pitch = o.pitch or 0, fx = o.fx or 0, name = o.name or "", midi = o.midi or false, notes = o.midi_notes }
  local item = { kind = "item", position = o.position or 0, length = o.length or 1, selected = o.selected or false,
                 track = track, take = take, loop = o.loop or false, notes = o.notes or "" }
  take.item = item
  track.items[#track.items + 1] = item
  -- REAPER keeps a track's items in time order: GetTrackMediaItem's index is not the insert order.
  table.sort(track.items, function(a, b) return a.position < b.position end)
  return item
end

function Fake:all_items()
  local list = {}
  for _, t in ipairs(self.tracks) do for _, it in ipairs(t.items) do list[#list + 1] = it end end
  return list
end

function Fake:selected_items()
  local list = {}
  for _, it in ipairs(self:all_items()) do if it.selected then list[#list + 1] = it end end
  return list
end

--- Run the callbacks deferred so far (one REAPER main-loop round); returns how many ran.
function Fake:step()
  local now = self.deferred
  self.deferred = {}
  for _, fn in ipairs(now) do fn() end
  self.clock = self.clock + 0.033
  return #now
end

-- ExtState: persisted and session values share one table, as REAPER presents them.
local function ext_key(section, key) return section .. "\0" .. key end

function Fake:set_ext(section, key, value) self.ext[ext_key(section, key)] = value end
function Fake:get_ext(section, key) return self.ext[ext_key(section, key)] end

function Fake:api()
  local f = self
  local R = {}

  -- time, tempo, meter, selection
  function R.GetCursorPosition() return f.cursor end
  function R.SetEditCurPos(t, moveview, seekplay)
    assert(type(t) == "number" and type(moveview) == "boolean" and type(seekplay) == "boolean", "SetEditCurPos(time, bool, bool)")
    f.cursor = t
  end
  function R.GetSet_LoopTimeRange2(proj, isSet, isLoop, s, e, seek)
    assert(proj == 0 and type(isSet) == "boolean" and type(isLoop) == "boolean" and type(seek) == "boolean", "GetSet_LoopTimeRange2 arguments")
    if isSet then f.ts = { s, e } end
    return f.ts[1], f.ts[2]
  end
  function R.TimeMap_GetTimeSigAtTime(proj, t)
    assert(proj == 0 and type(t) == "number", "TimeMap_GetTimeSigAtTime(0, time)")
    return f.num, f.denom, f.tempo
  end
  function R.Master_GetTempo() return f.tempo end
  function R.TimeMap_timeToQN(t) return t * f.tempo / 60 end
  function R.TimeMap_QNToTime(qn) return qn * 60 / f.tempo end
  function R.time_precise() return f.clock end

  -- project
  function R.GetSetProjectInfo(proj, desc, value, is_set)
    assert(proj == 0 and type(value) == "number" and is_set == false, "GetSetProjectInfo(0, desc, 0, false)")
    if desc == "PROJECT_SRATE" then return f.srate elseif desc == "PROJECT_SRATE_USE" then return f.srate_use end
    error("fake reaper: GetSetProjectInfo " .. tostring(desc))
  end
  function R.GetAudioDeviceInfo(attr)
    assert(attr == "SRATE", "GetAudioDeviceInfo attribute")
    return true, f.device_srate
  end
  -- "Get the project recording path": a subfolder (Audio/) or, unsaved, REAPER's default folder.
  function R.GetProjectPath() return f.record_path end
  function R.EnumProjects(idx)
    assert(idx == -1, "EnumProjects(-1): the current project")
    return { kind = "project" }, f.project_file
  end
  function R.GetResourcePath() return f.resource_path end
  function R.GetOS() return f.os end

  -- ExtState
  function R.GetExtState(section, key) return f:get_ext(section, key) or "" end
  function R.SetExtState(section, key, value, persist)
    assert(type(value) == "string" and type(persist) == "boolean", "SetExtState(section, key, string, bool)")
    f:set_ext(section, key, value)
    if persist then f.persisted[ext_key(section, key)] = true end
  end
  function R.DeleteExtState(section, key, persist)
    assert(type(persist) == "boolean", "DeleteExtState(section, key, bool)")
    f:set_ext(section, key, nil)
  end

  -- dialogs
  function R.GetUserInputs(title, n, captions, defaults)
    local sep = captions:match("separator=(.)") or ","
    local names = {}
    for c in (captions .. ","):gmatch("(.-),") do
      if not c:match("^extrawidth=") and not c:match("^separator=") then names[#names + 1] = c end
    end
    assert(#names == n, "GetUserInputs: " .. n .. " fields but captions " .. captions)
    f.dialogs[#f.dialogs + 1] = { title = title, captions = names, defaults = defaults, sep = sep }
    assert(#f.inputs > 0, "fake reaper: unexpected dialog " .. title)
    local answer = table.remove(f.inputs, 1)
    if answer == false then return false, "" end
    if type(answer) == "function" then answer = answer(names, defaults, sep) end
    return true, table.concat(answer, sep)
  end
  function R.ShowMessageBox(msg, title, kind)
    assert(type(msg) == "string" and type(title) == "string" and type(kind) == "number", "ShowMessageBox(string, string, int)")
    f.boxes[#f.boxes + 1] = { msg = msg, kind = kind }
    return table.remove(f.box_answers, 1) or 1
  end

  -- script lifetime and processes
  function R.defer(fn) assert(type(fn) == "function"); f.deferred[#f.deferred + 1] = fn end
  function R.atexit(fn) assert(type(fn) == "function"); f.exits[#f.exits + 1] = fn end
  function R.file_exists(path)
    local h = io.open(path, "rb")
    if h then h:close() return true end
    return false
  end
  function R.RecursiveCreateDirectory(path, ignored)
    assert(ignored == 0, "RecursiveCreateDirectory(path, 0)")
    os.execute("mkdir -p '" .. path:gsub("'", "'\\''") .. "'")
    return 1
  end
  function R.ExecProcess(cmd, timeout)
    assert(type(cmd) == "string" and math.type(timeout) == "integer", "ExecProcess(string, int)")
    -- The docs: 0 = no time limit, > 0 ms, -1 = no wait/terminate, -2 = no wait and minimize.
    assert(timeout >= -2, "ExecProcess timeout " .. timeout .. " is not documented")
    f.execs[#f.execs + 1] = { cmd = cmd, timeout = timeout }
    if f.exec_handler then return f.exec_handler(cmd, timeout) end
    return "0\n"
  end
  function R.Main_OnCommand(cmd, flag)
    assert(flag == 0, "Main_OnCommand(cmd, 0)")
    f.commands[#f.commands + 1] = cmd
    if cmd ~= 40362 then error("fake reaper: command " .. tostring(cmd) .. " not modelled") end
    for _, it in ipairs(f:selected_items()) do -- glue: a new file with what the item plays
      f.glued = f.glued + 1
      it.take = { kind = "take", source = { kind = "source", type = "WAVE", file = f.project_path .. "/glued-" .. f.glued .. ".wav",
                  length = it.length }, startoffs = 0, playrate = 1, pitch = 0, fx = 0, name = "glued", midi = false }
    end
  end

  -- undo and refresh
  function R.Undo_BeginBlock() f.undo_depth = f.undo_depth + 1 end
  function R.Undo_EndBlock(name, flags)
    assert(type(name) == "string" and type(flags) == "number", "Undo_EndBlock(string, int)")
    assert(f.undo_depth > 0, "Undo_EndBlock without Undo_BeginBlock")
    f.undo_depth = f.undo_depth - 1
    f.undo[#f.undo + 1] = name
  end
  function R.PreventUIRefresh(n) assert(n == 1 or n == -1) end
  function R.UpdateArrange() end
  function R.TrackList_AdjustWindows(minor) assert(type(minor) == "boolean") end

  self:api_tracks(R)
  self:api_items(R)
  return R
end

function Fake:api_tracks(R)
  local f = self
  function R.CountTracks(proj) assert(proj == 0) return #f.tracks end
  function R.GetTrack(proj, i) assert(proj == 0) return f.tracks[i + 1] end
  function R.CountSelectedTracks(proj)
    assert(proj == 0)
    local n = 0
    for _, t in ipairs(f.tracks) do if t.selected then n = n + 1 end end
    return n
  end
  function R.GetSelectedTrack(proj, i)
    assert(proj == 0)
    local n = -1
    for _, t in ipairs(f.tracks) do
      if t.selected then n = n + 1; if n == i then return t end end
    end
    return nil
  end
  function R.SetOnlyTrackSelected(track)
    expect(track, "track", "SetOnlyTrackSelected")
    for _, t in ipairs(f.tracks) do t.selected = (t == track) end
  end
  function R.SetTrackSelected(track, sel) expect(track, "track", "SetTrackSelected"); track.selected = sel end
  function R.InsertTrackAtIndex(idx, defaults)
    assert(type(defaults) == "boolean", "InsertTrackAtIndex(idx, bool)")
    idx = math.max(0, math.min(idx, #f.tracks))
    table.insert(f.tracks, idx + 1, { kind = "track", name = "", depth = 0, compact = 0, selected = false, items = {} })
  end
  function R.ValidatePtr2(proj, ptr, typename)
    assert(proj == 0 and typename == "MediaTrack*", "ValidatePtr2(0, ptr, 'MediaTrack*')")
    return f:track_index(ptr) ~= nil
  end
  function R.GetMediaTrackInfo_Value(track, key)
    expect(track, "track", "GetMediaTrackInfo_Value")
    if key == "IP_TRACKNUMBER" then return f:track_index(track) or 0 end
    if key == "I_FOLDERDEPTH" then return track.depth end
    if key == "I_FOLDERCOMPACT" then return track.compact end
    error("fake reaper: track value " .. key)
  end
  function R.SetMediaTrackInfo_Value(track, key, v)
    expect(track, "track", "SetMediaTrackInfo_Value")
    if key == "I_FOLDERDEPTH" then track.depth = v
    elseif key == "I_FOLDERCOMPACT" then track.compact = v
    else error("fake reaper: track value " .. key) end
    return true
  end
  function R.GetParentTrack(track)
    expect(track, "track", "GetParentTrack")
    return f:parent(track)
  end
  function R.GetSetMediaTrackInfo_String(track, key, value, set)
    expect(track, "track", "GetSetMediaTrackInfo_String")
    assert(key == "P_NAME" and type(value) == "string" and type(set) == "boolean")
    if set then track.name = value end
    return true, track.name
  end
  function R.CountTrackMediaItems(track) expect(track, "track", "CountTrackMediaItems") return #track.items end
  function R.GetTrackMediaItem(track, i) expect(track, "track", "GetTrackMediaItem") return track.items[i + 1] end
  function R.CountMediaItems(proj) assert(proj == 0) return #f:all_items() end
  function R.GetMediaItem(proj, i) assert(proj == 0) return f:all_items()[i + 1] end
end

--- The folder track holding `track` (nil at the top level), from the tracks' folder depths.
function Fake:parent(track)
  local stack = {}
  for _, t in ipairs(self.tracks) do
    if t == track then return stack[#stack] end
    if t.depth > 0 then stack[#stack + 1] = t
    else for _ = 1, -t.depth do stack[#stack] = nil end end
  end
  return nil
end

--- Each track's name and nesting level, e.g. { "Drums:0", "Kick:1" }: what the specs compare.
function Fake:layout()
  local out, level = {}, 0
  for _, t in ipairs(self.tracks) do
    out[#out + 1] = t.name .. ":" .. level
    level = level + t.depth
  end
  assert(level == 0, "fake reaper: folders do not close (" .. table.concat(out, " ") .. ")")
  return out
end

function Fake:api_items(R)
  local f = self
  function R.CountSelectedMediaItems(proj) assert(proj == 0) return #f:selected_items() end
  function R.GetSelectedMediaItem(proj, i) assert(proj == 0) return f:selected_items()[i + 1] end
  function R.SelectAllMediaItems(proj, sel)
    assert(proj == 0 and type(sel) == "boolean")
    for _, it in ipairs(f:all_items()) do it.selected = sel end
  end
  function R.SetMediaItemSelected(item, sel) expect(item, "item", "SetMediaItemSelected"); item.selected = sel end
  function R.GetMediaItem_Track(item) expect(item, "item", "GetMediaItem_Track") return item.track end
  function R.GetMediaItemInfo_Value(item, key)
    expect(item, "item", "GetMediaItemInfo_Value")
    if key == "D_POSITION" then return item.position elseif key == "D_LENGTH" then return item.length end
    if key == "B_LOOPSRC" then return item.loop and 1 or 0 end
    error("fake reaper: item value " .. key)
  end
  function R.SetMediaItemInfo_Value(item, key, v)
    expect(item, "item", "SetMediaItemInfo_Value")
    assert(type(v) == "number", "SetMediaItemInfo_Value takes a number")
    if key == "D_POSITION" then item.position = v
    elseif key == "D_LENGTH" then item.length = v
    elseif key == "B_LOOPSRC" then item.loop = v ~= 0
    else error("fake reaper: item value " .. key) end
    return true
  end
  function R.GetSetMediaItemInfo_String(item, key, value, set)
    expect(item, "item", "GetSetMediaItemInfo_String")
    assert(key == "P_NOTES" and type(value) == "string" and set == false, "GetSetMediaItemInfo_String(item, 'P_NOTES', '', false)")
    return true, item.notes
  end
  function R.MoveMediaItemToTrack(item, track)
    expect(item, "item", "MoveMediaItemToTrack"); expect(track, "track", "MoveMediaItemToTrack")
    local from = item.track.items
    for i, it in ipairs(from) do if it == item then table.remove(from, i) break end end
    track.items[#track.items + 1] = item
    item.track = track
    return true
  end
  function R.GetActiveTake(item) expect(item, "item", "GetActiveTake") return item.take end
  function R.TakeIsMIDI(take) expect(take, "take", "TakeIsMIDI") return take.midi end
  -- A MIDI take's notes: take.notes = { {from, to (PPQ, 960 per quarter from the take's start), pitch,
  -- vel, muted, chan} }; PPQ 0 is the item's position minus the take's start offset.
  local function midi_take(take, fn)
    expect(take, "take", fn)
    assert(take.midi, "fake reaper: " .. fn .. " on a take that is not MIDI")
    return take.notes or {}
  end
  function R.MIDI_CountEvts(take) return true, #midi_take(take, "MIDI_CountEvts"), 0, 0 end
  function R.MIDI_GetNote(take, i)
    local n = midi_take(take, "MIDI_GetNote")[i + 1]
    assert(n, "MIDI_GetNote: no note " .. tostring(i))
    return true, false, n.muted or false, n.from, n.to, n.chan or 0, n.pitch, n.vel or 100
  end
  function R.MIDI_GetProjQNFromPPQPos(take, ppq)
    midi_take(take, "MIDI_GetProjQNFromPPQPos")
    assert(type(ppq) == "number")
    local item = take.item
    return R.TimeMap_timeToQN(item.position - take.startoffs) + ppq / 960
  end
  function R.SetTakeMarker(take, idx, name, srcpos, color)
    expect(take, "take", "SetTakeMarker")
    assert(idx == -1 and type(name) == "string" and type(srcpos) == "number" and color == nil, "SetTakeMarker(take, -1, name, srcpos)")
    take.markers = take.markers or {}
    take.markers[#take.markers + 1] = { name = name, srcpos = srcpos }
    return #take.markers - 1
  end
  function R.GetMediaItemTakeInfo_Value(take, key)
    expect(take, "take", "GetMediaItemTakeInfo_Value")
    local map = { D_STARTOFFS = take.startoffs, D_PLAYRATE = take.playrate, D_PITCH = take.pitch,
                  B_PPITCH = take.preserve_pitch and 1 or 0 }
    assert(map[key] ~= nil, "fake reaper: take value " .. key)
    return map[key]
  end
  function R.SetMediaItemTakeInfo_Value(take, key, v)
    expect(take, "take", "SetMediaItemTakeInfo_Value")
    assert(type(v) == "number", "SetMediaItemTakeInfo_Value takes a number")
    if key == "D_PLAYRATE" then take.playrate = v
    elseif key == "B_PPITCH" then take.preserve_pitch = v ~= 0
    else error("fake reaper: take value " .. key) end
    return true
  end
  function R.GetSetMediaItemTakeInfo_String(take, key, value, set)
    expect(take, "take", "GetSetMediaItemTakeInfo_String")
    assert(key == "P_NAME" and type(value) == "string" and type(set) == "boolean")
    if set then take.name = value end
    return true, take.name
  end
  function R.TakeFX_GetCount(take) expect(take, "take", "TakeFX_GetCount") return take.fx end
  function R.GetMediaItemTake_Source(take) expect(take, "take", "GetMediaItemTake_Source") return take.source end
  function R.GetMediaSourceType(src, buf) expect(src, "source", "GetMediaSourceType"); assert(buf == "") return src.type end
  function R.GetMediaSourceFileName(src, buf) expect(src, "source", "GetMediaSourceFileName"); assert(buf == "") return src.file end
  function R.GetMediaSourceParent(src) expect(src, "source", "GetMediaSourceParent") return src.parent end
  function R.GetMediaSourceLength(src) expect(src, "source", "GetMediaSourceLength") return src.length, false end
  function R.InsertMedia(file, mode)
    assert(type(file) == "string" and mode == 0, "InsertMedia(string, 0)")
    -- Mode 0 adds to the current track at the edit cursor (here the first selected track, or the
    -- last one with insert_on_last_track). The docs promise nothing about the item selection: by
    -- default the new item is left unselected and the old selection stays (insert_selects = true:
    -- only the new item is selected). import_rate models import preferences that stretch the file.
    local track = R.GetSelectedTrack(0, 0)
    if f.insert_on_last_track or not track then track = f.tracks[#f.tracks] end
    local media = f.media[file] or {}
    local src_len = media.length or 1
    local rate = f.import_rate or 1
    local item = f:add_item(track, { position = f.cursor, length = src_len / rate, file = file, playrate = rate,
                                     source_length = src_len, type = file:match("%.mid$") and "MIDI" or "WAVE",
                                     midi = file:match("%.mid$") ~= nil })
    if f.insert_selects then
      for _, it in ipairs(f:all_items()) do it.selected = false end
      item.selected = true
    end
    f.inserts[#f.inserts + 1] = { file = file, item = item, undo_depth = f.undo_depth }
    f.cursor = f.cursor + item.length -- as with "move edit cursor after paste/insert"
    return 1
  end
  self:api_media(R)
end

function Fake:make_gfx()
  local f = self
  local G = { w = 380, h = 96, x = 0, y = 0 }
  function G.init(title, w, h)
    assert(type(title) == "string" and type(w) == "number" and type(h) == "number", "gfx.init(title, w, h)")
    f.gfx_open, f.gfx_title = true, title
  end
  function G.getchar()
    if not f.gfx_open then return -1 end
    local c = table.remove(f.gfx_chars, 1) or 0
    if c == -1 then f.gfx_open = false end
    return c
  end
  function G.quit() f.gfx_open = false end
  function G.setfont(idx, face, size) assert(type(idx) == "number" and type(face) == "string" and type(size) == "number") end
  function G.set(r, g, b, a) assert(type(r) == "number" and type(g) == "number" and type(b) == "number" and type(a) == "number") end
  function G.rect(x, y, w, h, filled) assert(type(x) == "number" and type(y) == "number" and type(w) == "number" and type(h) == "number" and type(filled) == "number") end
  function G.drawstr(s) assert(type(s) == "string"); f.gfx_texts[#f.gfx_texts + 1] = s end
  function G.update() end
  return strict(G, "gfx")
end

require("fake_media")(Fake)

return Fake
