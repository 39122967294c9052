-- dawgen Reaper scripts: settings kept in Reaper's ExtState (section "dawgen", persisted).
--
-- Each setting is declared once here (key, default, caption, check); the Settings action, the
-- README table and the tests all read this list, so a setting cannot exist in one place only.
-- @noindex

local S = {}

S.SECTION = "dawgen"

local function trim(v)
  return (tostring(v or ""):gsub("^%s+", ""):gsub("%s+$", ""))
end

local function any(v) return trim(v) end

local function int_between(lo, hi)
  return function(v)
    local n = tonumber(trim(v))
    if not n or n ~= math.floor(n) or n < lo or n > hi then
      return nil, string.format("a whole number from %d to %d", lo, hi)
    end
    return string.format("%d", n)
  end
end

local function positive_number(v)
  local n = tonumber(trim(v))
  if not n or n <= 0 then return nil, "a number above 0" end
  return trim(v)
end

local function one_of(...)
  local allowed = { ... }
  return function(v)
    local t = trim(v):lower()
    for _, a in ipairs(allowed) do
      if t == a then return t end
    end
    return nil, "one of: " .. table.concat(allowed, ", ")
  end
end

local function optional(check)
  return function(v)
    if trim(v) == "" then return "" end
    return check(v)
  end
end

local function sample_rate(v)
  local t = trim(v):lower()
  if t == "project" or t == "daemon" then return t end
  local n = tonumber(t)
  if n and n == math.floor(n) and n >= 8000 and n <= 192000 then return string.format("%d", n) end
  return nil, "project, daemon, or a rate in Hz (8000 to 192000)"
end

local function relative_folder(v)
  local t = trim(v):gsub("\\", "/"):gsub("^/+", ""):gsub("/+$", "")
  for part in t:gmatch("[^/]+") do
    if part == ".." then return nil, "a folder inside the project (no ..)" end
  end
  if t:match("^%a:") then return nil, "a relative folder, not a drive path" end
  return t
end

-- A LoRA adapter's name as the daemon lists it (/dawgen/models, a model's `loras`): the `lora`
-- parameter joins name:strength pairs with , and :, so a name holds neither.
local function adapter_name(v)
  local t = trim(v)
  if t:find("[,:%s]") then return nil, "an adapter name from the model's list (no spaces, commas or colons)" end
  return t
end

-- An adapter's strength: the daemon takes -2 to 2 (1 = as trained, 0 = off, below 0 = the opposite).
S.LORA_MIN, S.LORA_MAX = -2, 2
local function lora_strength(v)
  if trim(v) == "" then return "1" end
  local n = tonumber(trim(v))
  if not n or n < S.LORA_MIN or n > S.LORA_MAX then return nil, "a number from -2 to 2 (1 = as trained)" end
  return trim(v)
end

-- A client token (`dawgen token add NAME` on the daemon's machine prints one: 43 URL-safe
-- characters). Only characters a shell and cmd.exe carry literally in an environment assignment.
local function client_token(v)
  local t = trim(v)
  if t ~= "" and not t:match("^[%w%-%._~+/=]+$") then
    return nil, "a token as `dawgen token add` prints it (letters, digits and - _ . ~ + / =)"
  end
  return t
end

-- The adapter slots: { name key, strength key } each.
S.LORA_SLOTS = { { "lora_1", "lora_1_strength" }, { "lora_2", "lora_2_strength" } }

-- Dialog pages (GetUserInputs shows at most 16 fields). The adapters page (`adapters = true`) is shown
-- after the daemon's list of the Generate model's adapters (dawgen_client.lua, settings).
S.PAGES = {
  {
    title = "dawgen settings: connection and output",
    keys = { "dawgen_path", "host", "port", "token", "fetch", "timeout", "results_in", "daemon_root", "subfolder",
             "sample_rate", "format", "bit_depth" },
  },
  {
    title = "dawgen settings: defaults and models",
    keys = { "bars", "continue_bars", "count", "render", "model_generate", "model_vary",
             "model_continue", "model_separate", "model_midi", "datasets" },
  },
  {
    title = "dawgen settings: LoRA adapters",
    keys = { "lora_1", "lora_1_strength", "lora_2", "lora_2_strength" },
    adapters = true,
  },
}

S.SPECS = {
  dawgen_path = { "", "dawgen executable (full path)", any },
  host = { "127.0.0.1", "daemon host", function(v)
    local t = trim(v)
    if t == "" then return nil, "a host name or address" end
    return t
  end },
  port = { "9950", "daemon port", int_between(1, 65535) },
  -- The caption's leading * asks GetUserInputs for a field that does not show what is typed; the
  -- dialog never shows the stored token either (empty keeps it, - removes it: dawgen/setup.lua).
  token = { "", "*client token (empty = keep; - = none)", client_token, secret = true },
  fetch = { "auto", "upload/download files: auto | always | never", one_of("auto", "always", "never") },
  timeout = { "600", "give up after (seconds)", positive_number },
  results_in = { "project", "results in: project | daemon", one_of("project", "daemon") },
  daemon_root = { "", "daemon output root (empty = this project)", any },
  subfolder = { "dawgen", "subfolder of the project", relative_folder },
  sample_rate = { "project", "sample rate: project | daemon | Hz", sample_rate },
  format = { "", "format: wav | flac (empty = daemon's)", optional(one_of("wav", "flac")) },
  bit_depth = { "", "bit depth: 16 | 24 | 32f (empty = daemon's)", optional(one_of("16", "24", "32f")) },
  bars = { "4", "length without time selection (bars)", positive_number },
  continue_bars = { "2", "Continue adds (bars)", positive_number },
  count = { "1", "variations per request", int_between(1, 64) },
  render = { "ask", "render glued/FX items first: ask | always | never", one_of("ask", "always", "never") },
  model_generate = { "", "model for Generate (empty = daemon default)", any },
  model_vary = { "", "model for Vary", any },
  model_continue = { "", "model for Continue", any },
  model_separate = { "", "model for Separate", any },
  model_midi = { "", "model for MIDI", any },
  datasets = { "", "training sets folder (empty = beside the project)", any },
  lora_1 = { "", "adapter 1 (name or number; empty = none)", adapter_name },
  lora_1_strength = { "1", "adapter 1 strength (-2 to 2)", lora_strength },
  lora_2 = { "", "adapter 2 (name or number; empty = none)", adapter_name },
  lora_2_strength = { "1", "adapter 2 strength (-2 to 2)", lora_strength },
}

--- Validate one value; returns the normalized value, or nil and what the setting accepts.
function S.check(key, value)
  local spec = S.SPECS[key]
  if not spec then return nil, "unknown setting " .. tostring(key) end
  return spec[3](value)
end

--- All settings: stored values where they are valid, defaults otherwise.
function S.load()
  local out = {}
  for key, spec in pairs(S.SPECS) do
    local stored = reaper.GetExtState(S.SECTION, key)
    local value = spec[1]
    if stored ~= "" then
      local ok = S.check(key, stored)
      if ok then value = ok end
    end
    out[key] = value
  end
  return out
end

--- Store settings (a table key -> value); refuses the whole set if one is invalid.
function S.save(values)
  local clean = {}
  for key, value in pairs(values) do
    local ok, why = S.check(key, value)
    if not ok then
      local spec = S.SPECS[key]
      if spec and spec.secret then -- never shown, not even when it is wrong
        return nil, string.format("%s: not valid; expected %s", spec[2]:gsub("^%*", ""):gsub(" %(.*", ""), why)
      end
      return nil, string.format("%s: %q is not valid; expected %s", spec and spec[2] or key, tostring(value), why)
    end
    clean[key] = ok
  end
  for key, value in pairs(clean) do
    reaper.SetExtState(S.SECTION, key, value, true)
  end
  return clean
end

--- Remembered dialog values (last prompt etc.), persisted but not settings.
function S.recall(key, default)
  local v = reaper.GetExtState(S.SECTION, "last_" .. key)
  if v == "" then return default or "" end
  return v
end

function S.remember(key, value)
  reaper.SetExtState(S.SECTION, "last_" .. key, tostring(value or ""), true)
end

S.trim = trim

return S
