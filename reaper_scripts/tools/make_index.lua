-- Writes reaper_scripts/index.xml, the ReaPack index: one package "dawgen" whose action scripts
-- are registered in REAPER's Main section and whose shared client files are installed beside them.
--
--   lua5.4 reaper_scripts/tools/make_index.lua [BASE_URL] > reaper_scripts/index.xml
--
-- BASE_URL is where reaper_scripts/ is served (ReaPack needs absolute links); a file:// URL of a
-- local checkout works for installing offline. tests/reaper_scripts/test_index.py checks that the
-- committed index.xml is what this prints and that it lists every script.

local BASE = arg[1] or "https://raw.githubusercontent.com/dawgen/dawgen/main/reaper_scripts/"
local VERSION = "0.1.0"

-- Actions (registered in the Main section), then the files they need.
local ACTIONS = {
  "dawgen - Generate at edit cursor.lua",
  "dawgen - Vary selected item.lua",
  "dawgen - Continue selected item.lua",
  "dawgen - Separate selected item into stems.lua",
  "dawgen - Generate MIDI into selected track.lua",
  "dawgen - Cancel.lua",
  "dawgen - Settings.lua",
}
local LIBRARY = {
  "dawgen_client.lua",
  "dawgen/settings.lua",
  "dawgen/project.lua",
  "dawgen/transport.lua",
  "dawgen/ui.lua",
  "dawgen/place.lua",
  "dawgen/json.lua",
  "dawgen/lora.lua",
}

local function url(file)
  return BASE .. file:gsub("[^%w%-%._~/]", function(c) return string.format("%%%02X", c:byte()) end)
end

local function xml(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

local out = {
  '<?xml version="1.0" encoding="utf-8"?>',
  '<index version="1" name="dawgen">',
  '  <category name="dawgen">',
  '    <reapack name="dawgen.lua" type="script" desc="dawgen: generate, vary, continue and separate through the local dawgen daemon">',
  '      <metadata>',
  '        <description><![CDATA[Actions that talk to a running dawgen daemon (dawgen serve) without blocking REAPER. Set the path of the dawgen executable in "dawgen - Settings" first.]]></description>',
  '      </metadata>',
  '      <version name="' .. VERSION .. '" author="dawgen">',
}
for _, file in ipairs(ACTIONS) do
  out[#out + 1] = '        <source main="main" file="' .. xml(file) .. '">' .. xml(url(file)) .. '</source>'
end
for _, file in ipairs(LIBRARY) do
  out[#out + 1] = '        <source file="' .. xml(file) .. '">' .. xml(url(file)) .. '</source>'
end
for _, line in ipairs({ "      </version>", "    </reapack>", "  </category>", "</index>", "" }) do
  out[#out + 1] = line
end
io.write(table.concat(out, "\n"))
