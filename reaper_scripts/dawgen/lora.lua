-- dawgen/lora.lua: LoRA adapters in the REAPER scripts (issue #17). Settings picks up to two from
-- the Generate model's list (`dawgen send models --tcp`), each with a strength; generate, vary and
-- continue send them as `lora=name:strength[,name2:strength]` (docs/PROTOCOL.md).
-- @noindex

local S = require("dawgen.settings")
local P = require("dawgen.project")
local T = require("dawgen.transport")
local U = require("dawgen.ui")
local J = require("dawgen.json")

local A = {}

local MODELS_GRACE = 20 -- seconds Settings waits for the model list before it asks without it

-- LoRA adapters (issue #17): the verbs that generate audio send the adapters picked in Settings.
A.LORA_VERBS = { generate = true, vary = true, ["continue"] = true }

--- The `lora` parameter from the settings: "name:strength[,name2:strength]" (docs/PROTOCOL.md),
--- "" when no adapter is picked; a second pick of the same adapter is left out. Returns nil and a
--- message when a strength is not a number from -2 to 2.
function A.lora_param(settings)
  local parts, seen = {}, {}
  for i, slot in ipairs(S.LORA_SLOTS) do
    local name = S.trim(settings[slot[1]])
    if name ~= "" and not seen[name] then
      local text = S.trim(settings[slot[2]])
      if text == "" then text = "1" end
      local strength = tonumber(text)
      if not strength or strength < S.LORA_MIN or strength > S.LORA_MAX then
        return nil, string.format("The strength of adapter %d (%s) must be a number from -2 to 2, not %q.\n\n"
          .. "Change it in dawgen - Settings (1 = as trained, 0 = off, below 0 = the opposite).", i, name, text)
      end
      seen[name] = true
      parts[#parts + 1] = name .. ":" .. P.num(strength)
    end
  end
  return table.concat(parts, ",")
end

--- Add `lora` to a generating request, right after `model` (before the output parameters).
--- Returns the request, or nil and a message.
function A.add_lora(request, settings)
  if not A.LORA_VERBS[request.verb] then return request end
  local lora, err = A.lora_param(settings)
  if not lora then return nil, err end
  if lora == "" then return request end
  local at = #request.params + 1
  for i, kv in ipairs(request.params) do
    if kv[1] == "model" then at = i + 1 break end
    if kv[1] == "sample_rate" or kv[1] == "bit_depth" or kv[1] == "format" or kv[1] == "dir" then at = i break end
  end
  table.insert(request.params, at, { "lora", lora })
  request.lora = lora
  return request
end

-- The adapters (LoRAs) a model lists in the /dawgen/models reply that `dawgen send models` prints.
local function text_of(v) return type(v) == "string" and v or "" end
local function number_of(v) return type(v) == "number" and v or nil end

--- The adapters one model lists: { {name, base, trigger, rank, size}, ... } and the model's name.
--- model_name "" means the daemon's default model. nil and why when the reply cannot be read or
--- names no such model. A model without `loras` (it takes none, or an older daemon) lists none.
function A.parse_loras(text, model_name)
  local models, err = J.decode(text)
  if not models then return nil, "the model list could not be read (" .. err .. ")" end
  if type(models) ~= "table" then return nil, "the model list is not a list" end
  if models.name then models = { models } end -- one entry (`models model=NAME`)
  model_name = S.trim(model_name)
  for _, m in ipairs(models) do
    if type(m) == "table" and ((model_name ~= "" and m.name == model_name) or (model_name == "" and m.default == true)) then
      local out = {}
      for _, l in ipairs(type(m.loras) == "table" and m.loras or {}) do
        if type(l) == "table" and type(l.name) == "string" and l.name ~= "" then
          out[#out + 1] = { name = l.name, base = text_of(l.base), trigger = text_of(l.trigger),
                            rank = number_of(l.rank), size = number_of(l.size) }
        end
      end
      return out, text_of(m.name)
    end
  end
  if model_name == "" then return nil, "the daemon names no default model" end
  return nil, "the daemon has no model named " .. model_name
end

--- The adapter list as Settings shows it, one numbered line each.
function A.describe_loras(loras)
  local lines = {}
  for i, l in ipairs(loras) do
    local facts = {}
    if l.base ~= "" then facts[#facts + 1] = "base " .. l.base end
    if l.rank then facts[#facts + 1] = "rank " .. string.format("%d", l.rank) end
    if l.size then facts[#facts + 1] = string.format("%.1f MB", l.size / 1e6) end
    local line = string.format("%d. %s", i, l.name)
    if #facts > 0 then line = line .. " (" .. table.concat(facts, ", ") .. ")" end
    if l.trigger ~= "" then line = line .. "; trigger word: " .. l.trigger end
    lines[#lines + 1] = line
  end
  return table.concat(lines, "\n")
end

-- `dawgen send models --tcp` in the background (TCP: the full list, never abridged to fit UDP);
-- done(json_text) when it printed the list, done(nil, why) when it could not.
function A.fetch_models(s, done)
  local exe = s.dawgen_path
  if exe == "" or not reaper.file_exists(exe) then return done(nil, "the path of the dawgen executable is not set") end
  local argv = T.argv(s, { verb = "models", params = {} }, nil, false)
  argv[#argv + 1] = "--tcp"
  A.models_fetch = T.collect(argv, "models", P.is_windows(), MODELS_GRACE, s.host .. ":" .. s.port, "model list",
    function(text, why)
      A.models_fetch = nil
      return done(text, why)
    end)
end

local function adapters_page()
  for _, page in ipairs(S.PAGES) do
    if page.adapters then return page end
  end
end

-- The adapters page: a list of the model's adapters first (or why there is none), then the four
-- fields. A number picks from the list; with a list, a name must be in it.
function A.dialog(loras, model, why)
  local page = adapters_page()
  local title = page.title
  local intro
  if loras and #loras > 0 then
    intro = string.format("LoRA adapters of %s (the model for Generate):\n\n%s\n\n"
      .. "Next, pick up to two by number or name, each with a strength from -2 to 2 (1 = as trained). "
      .. "Generate, Vary and Continue send them.", model, A.describe_loras(loras))
    title = title .. " of " .. model
  elseif loras then
    intro = string.format("%s (the model for Generate) lists no LoRA adapters. Leave the adapter fields empty, "
      .. "or train one (docs/TRAINING.md) and open dawgen - Settings again.", model)
  else
    intro = "The list of adapters could not be fetched: " .. tostring(why) .. ".\n\n"
      .. "You can still type adapter names (as `dawgen models --daemon` lists them)."
  end
  if reaper.ShowMessageBox(intro, U.TITLE, 1) ~= 1 then return end
  local current = S.load()
  local values = {}
  for i, key in ipairs(page.keys) do values[i] = current[key] end
  while true do
    local fields = {}
    for i, key in ipairs(page.keys) do fields[i] = { S.SPECS[key][2], values[i] } end
    local v = U.inputs(title, fields)
    if not v then return end
    local changed, err = {}, nil
    for i, key in ipairs(page.keys) do changed[key] = v[i]; values[i] = v[i] end
    for n, slot in ipairs(S.LORA_SLOTS) do
      local name = S.trim(changed[slot[1]])
      if loras and name ~= "" then
        local index, found = tonumber(name), false
        if index and loras[index] then name = loras[index].name end
        for _, l in ipairs(loras) do found = found or l.name == name end
        if not found and not err then
          local names = {}
          for _, l in ipairs(loras) do names[#names + 1] = l.name end
          err = string.format("Adapter %d: %q is not one of %s's adapters (%s).", n, name, model,
            #names > 0 and table.concat(names, ", ") or "it lists none")
        end
      end
      changed[slot[1]] = name
    end
    if not err then
      local saved
      saved, err = S.save(changed)
      if saved then return saved end
    end
    U.message(err)
  end
end

return A
