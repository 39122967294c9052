-- dawgen Reaper scripts: putting finished files into the project, inside one undo block.
--
-- A target is decided when the action starts (the user may move the cursor or the selection while
-- the daemon works): { track, position, layout, name }. Layouts:
--   "track"   first file on the track, further files (count > 1) on new tracks below it
--   "below"   every file on a new track below the track (vary: A/B under the original)
--   "folder"  a new folder track below the track holding one child track per file (stems), named
--             after the file, or target.names[i] (a trio's parts)
-- New tracks keep the folder structure (dawgen/tracks.lua). `target.fit` = { seconds, loop } makes
-- bar-length results exactly that long on the grid (see fit_item).
-- @noindex

local K = require("dawgen.tracks")

local L = {}

local function basename(path)
  return (path:gsub("\\", "/"):match("([^/]+)$") or path):gsub("%.[^.]*$", "")
end

-- The items of a track (or of the whole project), as a set.
local function item_set(track)
  local set = {}
  if track then
    for i = 0, reaper.CountTrackMediaItems(track) - 1 do set[reaper.GetTrackMediaItem(track, i)] = true end
  else
    for i = 0, reaper.CountMediaItems(0) - 1 do set[reaper.GetMediaItem(0, i)] = true end
  end
  return set
end

-- The item that is in `track` (or the project) now but not in `before`.
local function new_item(track, before)
  local count = track and reaper.CountTrackMediaItems(track) or reaper.CountMediaItems(0)
  for i = 0, count - 1 do
    local item = track and reaper.GetTrackMediaItem(track, i) or reaper.GetMediaItem(0, i)
    if not before[item] then return item end
  end
  return nil
end

--- Insert one file at `position` on `track`. InsertMedia adds to "the current track at the edit
--- cursor", so both are set first. It promises nothing about the selection afterwards (other
--- scripts, item grouping and preferences change it), so the new item is found as the one the
--- track (else the project: REAPER may have used another track) did not have before the call.
local function insert_file(path, track, position)
  reaper.SetOnlyTrackSelected(track)
  reaper.SetEditCurPos(position, false, false)
  local on_track, in_project = item_set(track), item_set(nil)
  reaper.InsertMedia(path, 0)
  local item = new_item(track, on_track) or new_item(nil, in_project)
  if not item then error("REAPER did not insert " .. path) end
  if reaper.GetMediaItem_Track(item) ~= track then reaper.MoveMediaItemToTrack(item, track) end
  if math.abs(reaper.GetMediaItemInfo_Value(item, "D_POSITION") - position) > 1e-9 then
    reaper.SetMediaItemInfo_Value(item, "D_POSITION", position)
  end
  return item
end

--- Bar-exact results play in sync: the item is exactly `fit.seconds` long (the bars at the project
--- tempo the request was made for) and plays its file at the rate that fills that length. dawgen
--- wrote the file at that tempo, so the rate is 1 unless an import preference (ACID tempo
--- matching, stretch to fit) changed it, or the file is a sample off: both are put right here
--- rather than trusted. Loops get "loop source" on, so stretching the item repeats them in time.
local function fit_item(item, fit)
  local take = reaper.GetActiveTake(item)
  if not (fit and fit.seconds and fit.seconds > 0 and take) then return end
  if not reaper.TakeIsMIDI(take) then
    local src_len = reaper.GetMediaSourceLength(reaper.GetMediaItemTake_Source(take))
    local rate = (src_len and src_len > 0) and src_len / fit.seconds or 1
    if math.abs(rate - 1) < 1e-6 then rate = 1 end -- below a sample of drift at any length we make
    reaper.SetMediaItemTakeInfo_Value(take, "B_PPITCH", 1)
    reaper.SetMediaItemTakeInfo_Value(take, "D_PLAYRATE", rate)
  end
  reaper.SetMediaItemInfo_Value(item, "D_LENGTH", fit.seconds)
  reaper.SetMediaItemInfo_Value(item, "B_LOOPSRC", fit.loop and 1 or 0)
end

local function place_file(path, track, target)
  local item = insert_file(path, track, target.position)
  fit_item(item, target.fit)
  K.reveal(track)
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
    track = K.append(target.name)
    if target.layout ~= "track" then target = { layout = "track", position = target.position, fit = target.fit } end
  end
  local items = {}
  if target.layout == "folder" then
    local names = {}
    for i, path in ipairs(paths) do names[i] = target.names and target.names[i] or basename(path) end
    local children = K.fill_folder(K.insert_below(track, target.name), names)
    for i, path in ipairs(paths) do items[i] = place_file(path, children[i], target) end
    return items
  end
  local below = track
  for i, path in ipairs(paths) do
    local dest = track
    if target.layout == "below" or i > 1 then
      dest = K.insert_below(below, target.name)
      below = dest
    end
    items[i] = place_file(path, dest, target)
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
  -- target.after(items): more edits of the new items in the same undo point (harmony's take markers)
  if ok and target.after then ok, result = pcall(function() target.after(result) return result end) end
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
