-- dawgen Reaper scripts: the two training actions (docs/TRAINING.md, PROTOCOL.md /dawgen/train).
--
-- "Add selected items to a training set" fills a set folder (dawgen/dataset.lua). "Train on a
-- training set" sends `train kind= base= data= name= steps= [trigger=]` through the same
-- background `dawgen send --wait` as every request, so the progress window shows the run's
-- step and loss (the `  step 40/1000, loss 0.1234` lines) and Esc cancels it (the daemon keeps a
-- checkpoint). When it is done the daemon's model list is read again: the new model (or adapter)
-- is listed there, and the action offers to use it for Generate (Settings' model and adapter).
-- @noindex

local S = require("dawgen.settings")
local D = require("dawgen.dataset")
local U = require("dawgen.ui")
local A = require("dawgen.lora")
local J = require("dawgen.json")

local R = {}

R.KINDS = { "stable-audio-lora", "stable-audio", "dance-diffusion", "dance-diffusion-lora", "musicgen",
            "musicgen-lora", "midi-drums", "midi-melody" }
R.TIMEOUT = "604800" -- a run takes hours: `--wait` gives up after a week, not after `timeout`

local function is_kind(kind)
  for _, k in ipairs(R.KINDS) do if k == kind then return true end end
  return false
end

--- "dawgen - Add selected items to a training set".
function R.add_items()
  local s = S.load()
  if reaper.CountSelectedMediaItems(0) == 0 then U.message("Select the audio items to add first.") return end
  local root = D.root(s)
  local v = U.inputs("dawgen: add " .. reaper.CountSelectedMediaItems(0) .. " item(s) to a training set in " .. root,
    { { "Training set name", S.recall("dataset", "my sounds") }, { "Prompt for unnamed items (optional)", "" } })
  if not v then return end
  local name = S.trim(v[1])
  if name == "" or name:find("[/\\:]") or name:match("^%.") then
    U.message("The training set name must be a folder name (no / \\ : and not starting with a dot).")
    return
  end
  S.remember("dataset", name)
  local folder = root .. "/" .. name
  local result = D.add_items(folder, v[2])
  local seconds = 0
  for _, a in ipairs(result.added) do seconds = seconds + a.seconds end
  local text = string.format("Added %d clip(s), %.1f s, to\n%s", #result.added, seconds, folder)
  if #result.skipped > 0 then text = text .. "\n\nSkipped: " .. table.concat(result.skipped, "; ") end
  U.message(text .. "\n\nTrain a model on it with dawgen - Train on a training set.")
  return result
end

-- The dialog's values -> { set, kind, base, steps, name, trigger } or nil and why.
local function read_train(v, root)
  local t = { set = S.trim(v[1]), kind = S.trim(v[2]):lower(), base = S.trim(v[3]), steps = S.trim(v[4]),
              name = S.trim(v[5]), trigger = S.trim(v[6]) }
  if t.set == "" or not reaper.EnumerateSubdirectories(root, 0) then return nil, "There is no training set in " .. root end
  local found = false
  for _, n in ipairs(D.list(root)) do found = found or n == t.set end
  if not found then return nil, string.format("No training set %q in %s (there are: %s).", t.set, root, table.concat(D.list(root), ", ")) end
  if not is_kind(t.kind) then return nil, "Kind must be one of: " .. table.concat(R.KINDS, ", ") end
  local steps = tonumber(t.steps)
  if not steps or steps ~= math.floor(steps) or steps < 1 or steps > 1000000 then return nil, "Steps must be a whole number from 1 to 1000000" end
  t.steps = string.format("%d", steps)
  if t.name == "" then t.name = D.slug(t.set) end
  if not t.name:match("^[%w._-]+$") then return nil, "The model name may only hold letters, digits, . _ and -" end
  return t
end

--- The `train` request for the dialog's values.
function R.request(t, root)
  local params = { { "kind", t.kind } }
  if t.base ~= "" then params[#params + 1] = { "base", t.base } end
  params[#params + 1] = { "data", root .. "/" .. t.set }
  params[#params + 1] = { "name", t.name }
  params[#params + 1] = { "steps", t.steps }
  if t.trigger ~= "" then params[#params + 1] = { "trigger", t.trigger } end
  return { verb = "train", params = params,
    -- `data` is a folder on this computer: a daemon elsewhere cannot read it (and refuses it: forbidden).
    local_only = "Training reads the training set's folder on this computer, and the daemon is on another "
      .. "machine (dawgen - Settings: host, upload/download files). Copy the set there and train with "
      .. "`dawgen send train ... data=FOLDER` on that machine.",
    hint = function(res)
    if res.code == "unknown_verb" or res.code == "model_unavailable" then
      return "Training needs the daemon's train model and its extra (docs/TRAINING.md: stable-audio or musicgen)."
    elseif res.code == "bad_request" then
      return "Check the kind, the base model (a configured model of that kind's backend) and the name "
        .. "(a run of that name exists unless you pick another)."
    end
  end }
end

-- Where the new model shows in the daemon's list: "model" (its own entry) or "adapter" (a LoRA
-- of `base`), or nil.
function R.listed(text, name)
  local models = J.decode(text or "")
  if type(models) ~= "table" then return nil end
  for _, m in ipairs(models) do
    if type(m) == "table" and m.name == name then return "model" end
    for _, l in ipairs(type(m) == "table" and type(m.loras) == "table" and m.loras or {}) do
      if type(l) == "table" and l.name == name then return "adapter", m.name end
    end
  end
  return nil
end

-- After the run: read the model list again, say where the model is, offer to use it.
local function done(t, settings, res)
  local run = res.paths[1] or ""
  A.fetch_models(settings, function(text, why)
    local where, base = R.listed(text, t.name)
    if not where then
      U.message(string.format("dawgen: training %s is done (%s), but the daemon does not list it%s.",
        t.name, run, why and (": " .. why) or ""))
      return
    end
    local midi = t.kind:match("^midi") ~= nil
    local use = where == "adapter" and string.format("adapter 1 with %s for Generate", base)
      or (midi and "the model for MIDI" or "the model for Generate")
    local answer = U.ask(string.format("dawgen: %s is trained (%s) and in the daemon's model list.\n\nUse it as %s?", t.name, run, use))
    if answer ~= "yes" then return end
    if where == "adapter" then S.save({ model_generate = base, lora_1 = t.name, lora_1_strength = "1" })
    elseif midi then S.save({ model_midi = t.name })
    else S.save({ model_generate = t.name }) end
  end)
  return true
end

--- "dawgen - Train on a training set": `start(label, request, target, settings, state)` is the
--- client's background request machinery (dawgen_client.lua).
function R.train(start, state)
  local s = S.load()
  local root = D.root(s)
  local sets = D.list(root)
  if #sets == 0 then
    U.message("No training set in\n" .. root .. "\n\nMake one with dawgen - Add selected items to a training set.")
    return
  end
  local v = U.inputs("dawgen train: sets in " .. root .. ": " .. table.concat(sets, ", "), {
    { "Training set", S.recall("dataset", sets[1]) }, { "Kind", S.recall("train_kind", "stable-audio-lora") },
    { "Base model", S.recall("train_base", "") }, { "Steps", S.recall("train_steps", "1000") },
    { "New model name (empty = set name)", "" }, { "Trigger word (optional)", "" } })
  if not v then return end
  local t, err = read_train(v, root)
  if not t then U.message(err) return end
  S.remember("dataset", t.set)
  S.remember("train_kind", t.kind)
  S.remember("train_base", t.base)
  S.remember("train_steps", t.steps)
  local settings = {}
  for k, val in pairs(s) do settings[k] = val end
  settings.timeout = R.TIMEOUT
  local job = start("Train " .. t.name, R.request(t, root), nil, settings, state)
  if job then job.on_done = function(_, res) return done(t, s, res) end end
  return job
end

return R
