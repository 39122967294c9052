-- dawgen Reaper scripts: "dawgen - Settings". First the daemons heard on the LAN (dawgen/discover.lua:
-- pick one by number to fill host and port), then the pages of dawgen/settings.lua, then (fetched in the
-- background meanwhile) the LoRA adapters of the Generate model (dawgen/lora.lua) and the catalog of
-- models the daemon can get (dawgen/catalog.lua).
--
-- The client token is a secret: its field starts empty whatever is stored (empty keeps the stored
-- one, "-" removes it), its caption asks REAPER for a field that hides what is typed, and no
-- message repeats it.
-- @noindex

local S = require("dawgen.settings")
local U = require("dawgen.ui")
local A = require("dawgen.lora")
local C = require("dawgen.catalog")
local D = require("dawgen.discover")

local G = {}

G.CLEAR = "-" -- typed in a secret's field: remove the stored value

-- One page: ask until the values are valid (or the user cancels: false).
-- `note`: a line for the title (what the LAN search found).
local function page_dialog(page, current, note)
  local title = (note and note ~= "") and (page.title .. " (" .. note .. ")") or page.title
  local values = {}
  for i, key in ipairs(page.keys) do values[i] = S.SPECS[key].secret and "" or current[key] end
  while true do
    local fields = {}
    for i, key in ipairs(page.keys) do fields[i] = { S.SPECS[key][2], values[i] } end
    local v = U.inputs(title, fields)
    if not v then return false end
    local changed = {}
    for i, key in ipairs(page.keys) do
      values[i] = v[i]
      if not S.SPECS[key].secret then changed[key] = v[i]
      elseif S.trim(v[i]) == G.CLEAR then changed[key] = ""
      elseif S.trim(v[i]) ~= "" then changed[key] = v[i] end
    end
    local saved, err = S.save(changed)
    if saved then return true end
    U.message(err)
  end
end

-- The pages, after the LAN search (rows, or nil and why).
local function pages(rows, why)
  local current = S.load()
  local note = D.offer(rows, why, current)
  for i, page in ipairs(S.PAGES) do
    if page.adapters then break end
    if not page_dialog(page, current, i == 1 and note or nil) then return end
  end
  local exe = S.load().dawgen_path
  if exe ~= "" and not reaper.file_exists(exe) then U.message("Saved, but there is no file at\n" .. exe) end
  local s = S.load()
  -- Both lists are fetched at once; the catalog is shown after the adapters page, when it is there.
  local catalog = { pending = true }
  local function show_catalog()
    if catalog.rows then C.show(catalog.rows, catalog.source) end
  end
  C.fetch(s, function(rows, _, source)
    catalog.rows, catalog.source, catalog.pending = rows, source, false
    if catalog.after then catalog.after() end
  end)
  -- Adapters fit one model: list the Generate model's (its entry in the daemon's model list).
  A.fetch_models(s, function(text, why)
    local loras, model
    if text then
      loras, model = A.parse_loras(text, s.model_generate)
      if not loras then why = model end
    end
    A.dialog(loras, model, why)
    if catalog.pending then catalog.after = show_catalog else show_catalog() end
  end)
end

function G.dialog()
  D.fetch(S.load(), pages)
end

return G
