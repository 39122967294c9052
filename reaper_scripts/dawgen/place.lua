-- dawgen Reaper scripts: putting finished files into the project, inside one undo block.
--
-- A target is decided when the action starts (the user may move the cursor or the selection while
-- the daemon works): { track, position, layout, name }. Layouts:
--   "track"   first file on the track, further files (count > 1) on new tracks below it
--   "below"   every file on a new track below the track (vary: A/B under the original)
--   "folder"  a new folder track below the track holding one child track per file (stems)
-- @noindex

local L = {}

local function track_index(track)
  return math.floor(reaper.GetMediaTrackInfo_Value(track, "IP_TRACKNUMBER")) -- 1-based
end

local function new_track(at, name)
  reaper.InsertTrackAtIndex(at, true)
  local track = reaper.GetTrack(0, at)
  if name and name ~= "" then reaper.GetSetMediaTrackInfo_String(track, "P_NAME", name, true) end
  return track
end

local function basename(path)
  return (path:gsub("\\", "/"):match("([^/]+)$") or path):gsub("%.[^.]*$", "")
end

--- Insert one file at `position` on `track`. InsertMedia works on "the current track at the edit
--- cursor", so both are set first; the inserted item (InsertMedia leaves it selected) is then
--- checked and moved if REAPER put it anywhere else.
local function insert_file(path, track, position)
  reaper.SetOnlyTrackSelected(track)
  reaper.SetEditCurPos(position, false, false)
  reaper.SelectAllMediaItems(0, false)
  reaper.InsertMedia(path, 0)
  local item = reaper.GetSelectedMediaItem(0, 0)
  if not item then error("REAPER did not insert " .. path) end
  if reaper.GetMediaItem_Track(item) ~= track then reaper.MoveMediaItemToTrack(item, track) end
  if math.abs(reaper.GetMediaItemInfo_Value(item, "D_POSITION") - position) > 1e-9 then
    reaper.SetMediaItemInfo_Value(item, "D_POSITION", position)
  end
  return item
end

local function save_view()
  local selected = {}
  for i = 0, reaper.CountSelectedTracks(0) - 1 do selected[reaper.GetSelectedTrack(0, i)] = true end
  return { cursor = reaper.GetCursorPosition(), selected = selected }
end

local function restore_view(view)
  for i = 0, reaper.CountTracks(0) - 1 do
    local track = reaper.GetTrack(0, i)
    reaper.SetTrackSelected(track, view.selected[track] == true)
  end
  reaper.SetEditCurPos(view.cursor, false, false)
end

local function place(paths, target)
  local track = target.track
  if not (track and reaper.ValidatePtr2(0, track, "MediaTrack*")) then
    -- The track went away while the daemon worked: put the results on a new last track.
    track = new_track(reaper.CountTracks(0), target.name)
    if target.layout ~= "track" then target = { layout = "track", position = target.position } end
  end
  local items, below = {}, track_index(track)
  if target.layout == "folder" then
    local folder = new_track(below, target.name)
    reaper.SetMediaTrackInfo_Value(folder, "I_FOLDERDEPTH", 1)
    local last
    for i, path in ipairs(paths) do
      last = new_track(below + i, basename(path))
      items[#items + 1] = insert_file(path, last, target.position)
    end
    reaper.SetMediaTrackInfo_Value(last, "I_FOLDERDEPTH", -1)
    return items
  end
  for i, path in ipairs(paths) do
    local dest = track
    if target.layout == "below" or i > 1 then
      dest = new_track(below, target.name)
      below = below + 1
    end
    items[#items + 1] = insert_file(path, dest, target.position)
  end
  return items
end

--- Insert `paths` as `target` says, as one undo point named `undo_name`. Returns the new items,
--- or nil and the error (the undo block is closed either way, the view restored).
function L.insert(paths, target, undo_name)
  reaper.Undo_BeginBlock()
  reaper.PreventUIRefresh(1)
  local view = save_view()
  local ok, result = pcall(place, paths, target)
  restore_view(view)
  reaper.PreventUIRefresh(-1)
  reaper.TrackList_AdjustWindows(false)
  reaper.UpdateArrange()
  reaper.Undo_EndBlock(undo_name, -1)
  if not ok then return nil, tostring(result) end
  return result
end

L.basename = basename

return L
