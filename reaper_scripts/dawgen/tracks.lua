-- dawgen Reaper scripts: new tracks in the right place of the folder structure.
--
-- REAPER has no folder objects: each track's I_FOLDERDEPTH says how the nesting changes after it
-- (1 = opens a folder, 0 = nothing, -N = closes N folders). A track inserted right after the last
-- track of a folder would land outside that folder, and one inserted after a folder track would
-- land inside it; so a new track "below" a track is put after the track's own folder contents, at
-- the track's level, and takes over the folder closings of the track it follows.
-- @noindex

local K = {}

local function depth(track) return math.floor(reaper.GetMediaTrackInfo_Value(track, "I_FOLDERDEPTH")) end
local function set_depth(track, d) reaper.SetMediaTrackInfo_Value(track, "I_FOLDERDEPTH", d) end

--- 0-based index of a track.
function K.index(track)
  return math.floor(reaper.GetMediaTrackInfo_Value(track, "IP_TRACKNUMBER")) - 1
end

-- The nesting level each track sits at (0 = top), from the folder depths before it.
local function level_before(index)
  local level = 0
  for i = 0, index - 1 do level = math.max(0, level + depth(reaper.GetTrack(0, i))) end
  return level
end

-- The last track of `track`'s own folder contents (the track itself when it is no folder).
local function last_of(index)
  local last, level = index, depth(reaper.GetTrack(0, index))
  while level > 0 and last + 1 < reaper.CountTracks(0) do
    last = last + 1
    level = level + depth(reaper.GetTrack(0, last))
  end
  return last
end

--- A new track directly below `track` at the same folder level (after the track's children when it
--- is a folder), named `name`. Returns the track.
function K.insert_below(track, name)
  local index = K.index(track)
  local level = level_before(index)
  local last = last_of(index)
  local prev = reaper.GetTrack(0, last)
  local after = level_before(last) + depth(prev) -- the level the next track would be at
  local carry = math.min(0, after - level)     -- folders `prev` closes beyond `track`'s own level
  reaper.InsertTrackAtIndex(last + 1, true)
  local new = reaper.GetTrack(0, last + 1)
  if carry < 0 then
    set_depth(prev, depth(prev) - carry)
    set_depth(new, carry)
  end
  if name and name ~= "" then reaper.GetSetMediaTrackInfo_String(new, "P_NAME", name, true) end
  return new
end

--- A new last track of the project (at the top level).
function K.append(name)
  local n = reaper.CountTracks(0)
  reaper.InsertTrackAtIndex(n, true)
  local new = reaper.GetTrack(0, n)
  if name and name ~= "" then reaper.GetSetMediaTrackInfo_String(new, "P_NAME", name, true) end
  return new
end

--- Make `parent` a folder holding one new child per name (in order), directly after it. The
--- folder closings `parent` had move to its last child. Returns the children.
function K.fill_folder(parent, names)
  local index, closes = K.index(parent), depth(parent)
  set_depth(parent, 1)
  local children = {}
  for i, name in ipairs(names) do
    reaper.InsertTrackAtIndex(index + i, true)
    local child = reaper.GetTrack(0, index + i)
    reaper.GetSetMediaTrackInfo_String(child, "P_NAME", name, true)
    children[i] = child
  end
  set_depth(children[#children], -1 + math.min(0, closes))
  return children
end

--- Open every collapsed folder above `track`, so the results put there can be seen.
function K.reveal(track)
  local parent = reaper.GetParentTrack(track)
  while parent do
    if reaper.GetMediaTrackInfo_Value(parent, "I_FOLDERCOMPACT") ~= 0 then
      reaper.SetMediaTrackInfo_Value(parent, "I_FOLDERCOMPACT", 0)
    end
    parent = reaper.GetParentTrack(parent)
  end
end

return K
