-- A fake REAPER for the busted specs and the integration harness: a small project model behind
-- the real ReaScript function names and signatures. Any other name fails the test, so the client
-- can only use functions that exist (and in the way this fake expects them to be called).

local Fake = {}
Fake.__index = Fake

local function strict(t, what)
  return setmetatable(t, { __index = function(_, k) error("fake " .. what .. ": unknown function " .. what .. "." .. tostring(k), 2) end })
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
function Fake:add_track(name)
  local t = { kind = "track", name = name or "", depth = 0, selected = false, items = {} }
  self.tracks[#self.tracks + 1] = t
  return t
end

function Fake:track_index(track)
  for i, t in ipairs(self.tracks) do if t == track then return i end end
  return nil
end

function Fake:add_item(track, o)
  o = o or {}
  local src = { kind = "source", type = o.type or "WAVE", file = o.file or "/media/loop.wav", length = o.source_length or 60 }
  if o.section then src = { kind = "source", type = "SECTION", file = "", length = src.length, parent = src } end
  local take = { kind = "take", source = src, startoffs = o.startoffs or 0, playrate = o.playrate or 1,
                 pitch = o.pitch or 0, fx = o.fx or 0, name = o.name or "", midi = o.midi or false }
  local item = { kind = "item", position = o.position or 0, length = o.length or 1, selected = o.selected or false,
                 track = track, take = take }
  track.items[#track.items + 1] = item
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
  function R.GetProjectPath() return f.project_path end
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
    assert(type(cmd) == "string" and type(timeout) == "number", "ExecProcess(string, int)")
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
    table.insert(f.tracks, idx + 1, { kind = "track", name = "", depth = 0, selected = false, items = {} })
  end
  function R.ValidatePtr2(proj, ptr, typename)
    assert(proj == 0 and typename == "MediaTrack*", "ValidatePtr2(0, ptr, 'MediaTrack*')")
    return f:track_index(ptr) ~= nil
  end
  function R.GetMediaTrackInfo_Value(track, key)
    expect(track, "track", "GetMediaTrackInfo_Value")
    if key == "IP_TRACKNUMBER" then return f:track_index(track) or 0 end
    if key == "I_FOLDERDEPTH" then return track.depth end
    error("fake reaper: track value " .. key)
  end
  function R.SetMediaTrackInfo_Value(track, key, v)
    expect(track, "track", "SetMediaTrackInfo_Value")
    assert(key == "I_FOLDERDEPTH", "fake reaper: track value " .. key)
    track.depth = v
    return true
  end
  function R.GetSetMediaTrackInfo_String(track, key, value, set)
    expect(track, "track", "GetSetMediaTrackInfo_String")
    assert(key == "P_NAME" and type(value) == "string" and type(set) == "boolean")
    if set then track.name = value end
    return true, track.name
  end
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
    error("fake reaper: item value " .. key)
  end
  function R.SetMediaItemInfo_Value(item, key, v)
    expect(item, "item", "SetMediaItemInfo_Value")
    assert(key == "D_POSITION", "fake reaper: item value " .. key)
    item.position = v
    return true
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
  function R.GetMediaItemTakeInfo_Value(take, key)
    expect(take, "take", "GetMediaItemTakeInfo_Value")
    local map = { D_STARTOFFS = take.startoffs, D_PLAYRATE = take.playrate, D_PITCH = take.pitch }
    assert(map[key] ~= nil, "fake reaper: take value " .. key)
    return map[key]
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
    assert(type(file) == "string" and type(mode) == "number", "InsertMedia(string, int)")
    -- REAPER adds to the (first selected) track at the edit cursor and selects only the new item.
    local track = R.GetSelectedTrack(0, 0)
    if f.insert_on_last_track or not track then track = f.tracks[#f.tracks] end
    for _, it in ipairs(f:all_items()) do it.selected = false end
    local item = f:add_item(track, { position = f.cursor, length = 1, file = file, selected = true,
                                     type = file:match("%.mid$") and "MIDI" or "WAVE" })
    f.inserts[#f.inserts + 1] = { file = file, item = item, undo_depth = f.undo_depth }
    f.cursor = f.cursor + item.length -- as with "move edit cursor after paste/insert"
    return 1
  end
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

return Fake
