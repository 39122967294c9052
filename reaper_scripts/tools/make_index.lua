-- Writes reaper_scripts/index.xml, the ReaPack index, from the package header at the top of
-- dawgen_client.lua (@description, @version, @author, @about, @provides), the way reapack-index
-- would: one script package in category "dawgen"; "[main]" files are registered as actions in
-- REAPER's Main section, "[nomain] ." installs the package file itself without an action, the
-- other files are installed beside them. The @about markdown becomes the RTF that ReaPack's
-- package window shows.
--
--   lua5.4 reaper_scripts/tools/make_index.lua [BASE_URL] > reaper_scripts/index.xml
--
-- BASE_URL is where reaper_scripts/ is served (ReaPack needs absolute links); a file:// URL of a
-- local checkout works for installing offline. tests/reaper_scripts/test_index.py checks that the
-- committed index.xml is what this prints and that it lists every script.

local BASE = arg[1] or "https://raw.githubusercontent.com/dawgen/dawgen/main/reaper_scripts/"
local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/tools/[^/]*$") or ".")
local PACKAGE = "dawgen_client.lua"

-- The header's tags: { description = "...", about = { lines }, provides = { lines }, ... }.
local function read_header(path)
  local tags, current = {}, nil
  for line in io.lines(path) do
    local body = line:match("^%-%-(.*)$")
    if not body then break end
    local tag, value = body:match("^ @(%w+)%s*(.-)%s*$")
    if tag then
      current = tag:lower()
      tags[current] = (value ~= "") and value or {}
    elseif current and type(tags[current]) == "table" and body:match("^%s%s+%S") then
      local t = tags[current]
      t[#t + 1] = (body:gsub("^%s+", ""):gsub("%s+$", ""))
    else
      current = nil
    end
  end
  return tags
end

-- RTF text: backslash and braces escaped, anything beyond ASCII as \uN? (UTF-8 decoded).
local function rtf_text(s)
  s = s:gsub("[\\{}]", "\\%0")
  s = s:gsub("[\194-\244][\128-\191]*", function(ch) return string.format("\\u%d?", utf8.codepoint(ch)) end)
  return (s:gsub("`", ""))
end

--- The @about markdown as RTF: "# " headings in bold, "- " items as bullets, other lines as paragraphs.
local function about_rtf(lines)
  local out = { "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 \\fswiss Helvetica;}}\\f0\\fs20" }
  local para = {}
  local function flush()
    if #para > 0 then out[#out + 1] = "\\pard " .. rtf_text(table.concat(para, " ")) .. "\\par" end
    para = {}
  end
  for _, line in ipairs(lines) do
    local heading = line:match("^#+%s+(.*)$")
    local bullet = line:match("^[-*]%s+(.*)$")
    if heading then
      flush()
      out[#out + 1] = "\\pard {\\b\\fs28 " .. rtf_text(heading) .. "}\\par"
    elseif bullet then
      flush()
      out[#out + 1] = "\\pard\\li360\\fi-240 \\bullet  " .. rtf_text(bullet) .. "\\par"
    elseif line:match("^%s*$") then
      flush()
    else
      para[#para + 1] = line
    end
  end
  flush()
  out[#out + 1] = "}"
  return table.concat(out, "\n")
end

local function url(file)
  return BASE .. file:gsub("[^%w%-%._~/]", function(c) return string.format("%%%02X", c:byte()) end)
end

local function xml(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

-- @provides lines -> { {file, main} }: "[main] f" is an action, "[nomain] ." the package file.
local function sources(provides)
  local list = {}
  for _, line in ipairs(provides) do
    local opts, file = line:match("^%[([^%]]*)%]%s+(.+)$")
    file = file or line
    if file == "." then file = PACKAGE end
    list[#list + 1] = { file = file, main = opts == "main" }
  end
  return list
end

local tags = read_header(ROOT .. "/" .. PACKAGE)
assert(type(tags.version) == "string" and type(tags.provides) == "table", PACKAGE .. " needs @version and @provides")
local out = {
  '<?xml version="1.0" encoding="utf-8"?>',
  '<index version="1" name="dawgen">',
  '  <category name="dawgen">',
  '    <reapack name="' .. PACKAGE .. '" type="script" desc="' .. xml(tags.description) .. '">',
  '      <metadata>',
  '        <description><![CDATA[' .. about_rtf(tags.about or {}) .. ']]></description>',
  '      </metadata>',
  '      <version name="' .. xml(tags.version) .. '" author="' .. xml(tags.author or "") .. '">',
}
for _, s in ipairs(sources(tags.provides)) do
  out[#out + 1] = '        <source' .. (s.main and ' main="main"' or '') .. ' file="' .. xml(s.file) .. '">'
    .. xml(url(s.file)) .. '</source>'
end
for _, line in ipairs({ "      </version>", "    </reapack>", "  </category>", "</index>", "" }) do
  out[#out + 1] = line
end
io.write(table.concat(out, "\n"))
