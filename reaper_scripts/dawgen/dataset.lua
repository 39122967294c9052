-- dawgen Reaper scripts: training sets, folders of clips a `train` job reads (docs/TRAINING.md).
--
-- "Add selected items to a training set" writes what each item plays, trimmed to the item, as a
-- WAV file, with its prompt in a sidecar `<file>.wav.txt` (the first sidecar form the dataset
-- reader takes, server/training/prompts.py). The audio is read through a take AudioAccessor
-- (CreateTakeAudioAccessor / GetAudioAccessorSamples) and written from Lua: no glue or render
-- action, so the project and its undo history stay untouched, and no daemon round trip (there is
-- no daemon-side cutter, and the daemon may not be running while a set is put together).
-- The accessor gives the take as the item plays it: start offset, length and playrate applied.
-- @noindex

local S = require("dawgen.settings")
local P = require("dawgen.project")

local D = {}

local BLOCK = 4096 -- frames per GetAudioAccessorSamples call

--- A file-system-safe slug: "808 Kick, punchy!" -> "808-kick-punchy".
function D.slug(text)
  local s = tostring(text or ""):lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  return s:sub(1, 48):gsub("%-+$", "")
end

--- Where training sets live: the setting, else "dawgen-datasets" beside the project file, else
--- (unsaved project) in REAPER's resource folder, so a set never lands in a temporary place.
function D.root(settings)
  if settings.datasets ~= "" then return (settings.datasets:gsub("\\", "/"):gsub("/+$", "")) end
  local folder, saved = P.project_folder()
  if saved then return folder:gsub("\\", "/") .. "/dawgen-datasets" end
  return reaper.GetResourcePath():gsub("\\", "/") .. "/Data/dawgen-datasets"
end

--- The training sets (subfolders) under `root`, sorted.
function D.list(root)
  local names, i = {}, 0
  while true do
    local name = reaper.EnumerateSubdirectories(root, i)
    if not name or name == "" then break end
    names[#names + 1] = name
    i = i + 1
  end
  table.sort(names)
  return names
end

-- A prompt from the item: its take's name (without a file extension, `_` read as a space),
-- else the first line of the item's notes, else `fallback`.
local function prompt_of(item, take, fallback)
  local _, name = reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "", false)
  name = S.trim(name:gsub("%.%w%w?%w?%w?$", ""):gsub("_", " "))
  if name ~= "" then return name end
  local _, notes = reaper.GetSetMediaItemInfo_String(item, "P_NOTES", "", false)
  notes = S.trim((notes or ""):match("^[^\r\n]*"))
  if notes ~= "" then return notes end
  return S.trim(fallback)
end

local function wav_header(frames, channels, rate)
  local data = frames * channels * 4
  -- IEEE float (format 3) with the `fact` chunk non-PCM WAV files carry.
  return "RIFF" .. string.pack("<I4", 4 + 24 + 12 + 8 + data) .. "WAVE"
    .. "fmt " .. string.pack("<I4I2I2I4I4I2I2", 16, 3, channels, rate, rate * channels * 4, channels * 4, 32)
    .. "fact" .. string.pack("<I4I4", 4, frames)
    .. "data" .. string.pack("<I4", data)
end

--- Write what `take` plays to `path` as 32-bit float WAV at the source's rate (mono or stereo).
--- Returns seconds written, or nil and why.
function D.write_take(take, path)
  local src = reaper.GetMediaItemTake_Source(take)
  src = reaper.GetMediaSourceParent(src) or src -- a section/reversed source: its file's facts
  local rate = reaper.GetMediaSourceSampleRate(src)
  if not rate or rate <= 0 then return nil, "not audio" end
  local channels = math.max(1, math.min(2, reaper.GetMediaSourceNumChannels(src)))
  local acc = reaper.CreateTakeAudioAccessor(take)
  local t0, t1 = reaper.GetAudioAccessorStartTime(acc), reaper.GetAudioAccessorEndTime(acc)
  local frames = math.max(0, math.floor((t1 - t0) * rate + 0.5))
  local fh, err = io.open(path, "wb")
  if not fh then
    reaper.DestroyAudioAccessor(acc)
    return nil, err
  end
  fh:write(wav_header(frames, channels, rate))
  local buf = reaper.new_array(BLOCK * channels)
  for done = 0, frames - 1, BLOCK do
    local n = math.min(BLOCK, frames - done)
    buf.clear()
    reaper.GetAudioAccessorSamples(acc, rate, channels, t0 + done / rate, n, buf)
    fh:write(string.pack("<" .. string.rep("f", n * channels), table.unpack(buf.table(1, n * channels))))
  end
  fh:close()
  reaper.DestroyAudioAccessor(acc)
  return frames / rate
end

local function exists(path) return reaper.file_exists(path) end

-- A file name in `folder` not taken yet: slug.wav, slug-2.wav, ...
local function free_name(folder, slug)
  local name, n = slug .. ".wav", 1
  while exists(folder .. "/" .. name) do
    n = n + 1
    name = slug .. "-" .. n .. ".wav"
  end
  return name
end

local function write_text(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text, "\n")
  fh:close()
end

--- Add the selected audio items to the set folder: one WAV per item and its prompt sidecar.
--- Returns { added = { {file, prompt, seconds} }, skipped = { why } }.
function D.add_items(folder, fallback_prompt)
  reaper.RecursiveCreateDirectory(folder, 0)
  local added, skipped = {}, {}
  for i = 0, reaper.CountSelectedMediaItems(0) - 1 do
    local item = reaper.GetSelectedMediaItem(0, i)
    local take = reaper.GetActiveTake(item)
    if not take or reaper.TakeIsMIDI(take) then
      skipped[#skipped + 1] = "item " .. (i + 1) .. " is not audio"
    else
      local prompt = prompt_of(item, take, fallback_prompt)
      local name = free_name(folder, D.slug(prompt) ~= "" and D.slug(prompt) or "clip")
      local seconds, err = D.write_take(take, folder .. "/" .. name)
      if seconds then
        if prompt ~= "" then write_text(folder .. "/" .. name .. ".txt", prompt) end
        added[#added + 1] = { file = name, prompt = prompt, seconds = seconds }
      else
        skipped[#skipped + 1] = "item " .. (i + 1) .. ": " .. tostring(err)
      end
    end
  end
  return { added = added, skipped = skipped }
end

return D
