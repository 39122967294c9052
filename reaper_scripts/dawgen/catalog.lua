-- dawgen Reaper scripts: models you can get (issue #20; docs/PROTOCOL.md /dawgen/catalog, /dawgen/pull).
--
-- The catalog comes from the daemon (`dawgen send catalog --tcp`: what it can pull, and what it has
-- installed); with no daemon on this computer, from `dawgen pull --list --json`. "dawgen - Get a
-- model" pulls one as a daemon job (`dawgen send pull name=NAME --wait`), so the progress window
-- shows each file (`t5-base/model.safetensors 42%`), Esc cancels, a daemon on another machine
-- downloads to its own disk, and its registry knows the model at once. Then the model list is read
-- again and the new model is offered for the actions it does.
-- @noindex

local S = require("dawgen.settings")
local P = require("dawgen.project")
local T = require("dawgen.transport")
local U = require("dawgen.ui")
local A = require("dawgen.lora")
local J = require("dawgen.json")
local N = require("dawgen.remote")

local C = {}

C.GRACE = 20         -- seconds to wait for the catalog
C.TIMEOUT = "86400"  -- a pull of several GB: `--wait` gives up after a day, not after `timeout`

-- The settings key of the model each verb uses (the actions' models in dawgen - Settings).
C.VERB_KEYS = { { "generate", "model_generate", "Generate" }, { "vary", "model_vary", "Vary" },
                { "continue", "model_continue", "Continue" }, { "separate", "model_separate", "Separate" },
                { "midi/generate", "model_midi", "MIDI" } }

local function text_of(v) return type(v) == "string" and v or "" end
local function number_of(v) return type(v) == "number" and v or nil end

--- The catalog from `dawgen send catalog` (`/dawgen/catalog req_id json`) or `dawgen pull --list
--- --json` (the JSON alone): { {name, backend, installed, download_gb, memory_gb, needs, licence,
--- licence_url, gated, page, description}, ... }, or nil and why.
function C.parse(text)
  local json = tostring(text or ""):gsub("^%s*/dawgen/catalog%s+%S+%s+", "")
  local rows, err = J.decode(json)
  if not rows then return nil, "the catalog could not be read (" .. err .. ")" end
  if type(rows) ~= "table" then return nil, "the catalog is not a list" end
  local out = {}
  for _, r in ipairs(rows) do
    if type(r) == "table" and type(r.name) == "string" and r.name ~= "" then
      local needs = {}
      for _, n in ipairs(type(r.needs) == "table" and r.needs or {}) do
        if type(n) == "string" then needs[#needs + 1] = n end
      end
      out[#out + 1] = { name = r.name, backend = text_of(r.backend), installed = r.installed == true,
                        download_gb = number_of(r.download_gb), memory_gb = number_of(r.memory_gb), needs = needs,
                        licence = text_of(r.licence), licence_url = text_of(r.licence_url), gated = r.gated == true,
                        page = text_of(r.page), description = text_of(r.description) }
    end
  end
  return out
end

local function gb(x) return (string.format("%.2f", x):gsub("0+$", ""):gsub("%.$", "")) end

--- The catalog as the dialogs show it, one numbered line each.
function C.describe(rows)
  local lines = {}
  for i, r in ipairs(rows) do
    local facts = {}
    if r.download_gb then facts[#facts + 1] = "~" .. gb(r.download_gb) .. " GB" end
    if r.memory_gb and r.memory_gb > 0 then facts[#facts + 1] = gb(r.memory_gb) .. " GB memory" end
    if r.licence ~= "" then facts[#facts + 1] = r.licence .. (r.gated and ", gated" or "") end
    if #r.needs > 0 then facts[#facts + 1] = "needs " .. table.concat(r.needs, ", ") end
    if r.backend == "" then facts[#facts + 1] = "a dependency" end
    lines[#lines + 1] = string.format("%d. %s%s (%s)", i, r.name, r.installed and " [installed]" or "",
      table.concat(facts, "; "))
  end
  return table.concat(lines, "\n")
end

--- The entry for a number or name, or nil.
function C.find(rows, choice)
  choice = S.trim(choice)
  local index = tonumber(choice)
  if index and rows[index] then return rows[index] end
  for _, r in ipairs(rows) do
    if r.name == choice then return r end
  end
end

--- Fetch the catalog in the background: done(rows, nil, source) or done(nil, why). From the daemon
--- (`send catalog --tcp`); when no daemon answers on this computer, from `dawgen pull --list --json`.
function C.fetch(s, done)
  local exe = s.dawgen_path
  if exe == "" or not reaper.file_exists(exe) then return done(nil, "the path of the dawgen executable is not set") end
  local argv = T.argv(s, { verb = "catalog", params = {} }, nil, false)
  argv[#argv + 1] = "--tcp"
  local function parsed(text, source)
    local rows, why = C.parse(text)
    if not rows then return done(nil, why) end
    return done(rows, nil, source)
  end
  C.pending = T.collect(argv, "catalog", P.is_windows(), C.GRACE, N.where(s), "catalog", function(text, why, rc)
    C.pending = nil
    if text then return parsed(text, "the daemon at " .. N.where(s)) end
    if rc ~= 3 or not N.is_local(s.host) then return done(nil, why) end
    -- No daemon here: this computer's own catalog (its config's models folder says what is installed).
    C.pending = T.collect({ exe, "pull", "--list", "--json" }, "catalog", P.is_windows(), C.GRACE, N.where(s), "catalog",
      function(local_text, local_why)
        C.pending = nil
        if not local_text then return done(nil, why .. "; dawgen pull --list: " .. tostring(local_why)) end
        return parsed(local_text, "this computer's dawgen (no daemon is running)")
      end)
  end)
end

--- What to do about a gated model (its licence page; the token is the daemon's, on its machine).
function C.gated_text(name, entry)
  local page = entry and (entry.page ~= "" and entry.page or entry.licence_url) or ""
  return string.format("%s is gated%s: open %s, log in to Hugging Face and accept the licence with the account "
    .. "whose token the daemon uses. On the daemon's machine, give dawgen that token once: run `dawgen login` "
    .. "(or set HF_TOKEN where the daemon starts). Then get the model again.", name,
    entry and entry.licence ~= "" and (" (" .. entry.licence .. ")") or "",
    page ~= "" and page or "the model's page on huggingface.co")
end

--- The `pull` request, with advice for its errors.
function C.request(name, entry)
  return { verb = "pull", params = { { "name", name } }, no_fetch = true, hint = function(res)
    if res.code == "model_unavailable" then return C.gated_text(name, entry)
    elseif res.code == "unknown_model" then return "The daemon's catalog has no " .. name .. ": pick one dawgen - Get a model lists."
    elseif res.code == "download_failed" then
      return "A file could not be fetched or did not match its checksum (the bad file was removed). Get the model "
        .. "again: finished files are kept, only what is missing is fetched."
    elseif res.code == "unknown_verb" then
      return "This daemon cannot pull models (an older dawgen?): update it, or run `dawgen pull " .. name
        .. "` in a terminal on its machine."
    elseif res.code == "bad_request" then
      return "The daemon's models folder already holds a model named " .. name .. " that `pull` did not make."
    end
  end }
end

-- The verbs a model does, from the daemon's model list: its settings keys and captions.
local function uses(models_text, name)
  local models = J.decode(models_text or "")
  if type(models) ~= "table" then return nil end
  for _, m in ipairs(models) do
    if type(m) == "table" and m.name == name then
      local found = {}
      for _, v in ipairs(C.VERB_KEYS) do
        if type(m.verbs) == "table" and m.verbs[v[1]] ~= nil then found[#found + 1] = v end
      end
      return found
    end
  end
end

-- After the pull: read the daemon's model list again (the new model is in it, no restart) and
-- offer it for the actions it does.
function C.done(name, res)
  local folder = res.paths[1] or ""
  local s = S.load()
  A.fetch_models(s, function(text, why)
    local found = uses(text, name)
    if not found then
      U.message(string.format("dawgen: %s is downloaded (%s), but the daemon does not list it%s.", name, folder,
        why and (": " .. why) or ""))
    elseif #found == 0 then
      U.message(string.format("dawgen: %s is ready (%s). The models that need it use it from now on.", name, folder))
    else
      local captions = {}
      for i, v in ipairs(found) do captions[i] = v[3] end
      local answer = U.ask(string.format("dawgen: %s is ready (%s) and in the daemon's model list.\n\n"
        .. "Use it as the model for %s (dawgen - Settings)?", name, folder, table.concat(captions, ", ")))
      if answer == "yes" then
        local values = {}
        for _, v in ipairs(found) do values[v[2]] = name end
        S.save(values)
      end
    end
  end)
  return true
end

-- The dialog after the catalog arrived (or did not): pick a model, confirm, start the pull.
local function choose(start, state, s, rows, why, source)
  local intro
  if rows then
    intro = string.format("Models you can get (from %s):\n\n%s\n\nNext, type a number or a name.", source, C.describe(rows))
  else
    intro = "The catalog could not be fetched: " .. tostring(why) .. ".\n\nYou can still type a model's name "
      .. "(`dawgen pull --list` shows them)."
  end
  if reaper.ShowMessageBox(intro, U.TITLE, 1) ~= 1 then return nil end
  local entry, name = nil, S.recall("pull_model", "")
  while true do
    local v = U.inputs("dawgen: get a model", { { "Model (number or name)", name } })
    if not v then return nil end
    name = S.trim(v[1])
    entry = rows and C.find(rows, name)
    if entry then name = entry.name break end
    if not rows and name:match("^[%w._-]+$") then break end
    U.message(rows and string.format("%q is not in the catalog.", name) or "A model name holds letters, digits, . _ and - only.")
  end
  S.remember("pull_model", name)
  if entry and entry.installed and U.ask(name .. " is installed already. Get it again (only missing or changed files "
    .. "are fetched)?") ~= "yes" then return nil end
  if entry and entry.gated and reaper.ShowMessageBox(C.gated_text(name, entry) .. "\n\nOK: get it now (you have done that).",
    U.TITLE, 1) ~= 1 then return nil end
  local settings = {}
  for k, val in pairs(s) do settings[k] = val end
  settings.timeout = C.TIMEOUT
  local job = start("Get " .. name, C.request(name, entry), nil, settings, state)
  if job then job.on_done = function(_, res) return C.done(name, res) end end
  C.job = job
  return job
end

--- "dawgen - Get a model": `start` is the client's background request machinery (dawgen_client.lua).
function C.get(start, state)
  local s = S.load()
  C.fetch(s, function(rows, why, source) choose(start, state, s, rows, why, source) end)
end

--- Settings' catalog page: which models the daemon has and which it can get.
function C.show(rows, source)
  U.message(string.format("Models you can get (from %s):\n\n%s\n\nGet one with dawgen - Get a model; "
    .. "installed ones can be named in the model fields.", source, C.describe(rows)))
end

return C
