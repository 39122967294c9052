-- dawgen Reaper scripts: a small JSON reader for the daemon's replies (`dawgen send models` prints
-- the /dawgen/models catalogue as JSON). REAPER's Lua has no JSON library. Objects become tables
-- with string keys, arrays tables with 1-based indices; JSON null becomes J.null (so arrays keep
-- their length).
-- @noindex

local J = {}

J.null = setmetatable({}, { __tostring = function() return "null" end })

local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function utf8_char(code)
  if utf8 and utf8.char then return utf8.char(code) end
  return "?"
end

local function fail(pos, what)
  error({ json = "JSON error at character " .. pos .. ": " .. what }, 0)
end

local function skip(text, pos)
  return text:find("[^ \t\r\n]", pos) or #text + 1
end

local value -- forward declaration

local function read_string(text, pos)
  local out, i = {}, pos + 1
  while true do
    local c = text:sub(i, i)
    if c == "" then fail(pos, "unterminated string") end
    if c == '"' then return table.concat(out), i + 1 end
    if c == "\\" then
      local e = text:sub(i + 1, i + 1)
      if ESCAPES[e] then
        out[#out + 1] = ESCAPES[e]
        i = i + 2
      elseif e == "u" then
        local hex = text:sub(i + 2, i + 5)
        if not hex:match("^%x%x%x%x$") then fail(i, "bad \\u escape") end
        local code = tonumber(hex, 16)
        i = i + 6
        local low = text:match("^\\u(%x%x%x%x)", i)
        if code >= 0xD800 and code <= 0xDBFF and low then
          local lo = tonumber(low, 16)
          if lo >= 0xDC00 and lo <= 0xDFFF then
            code = 0x10000 + (code - 0xD800) * 0x400 + (lo - 0xDC00)
            i = i + 6
          end
        end
        out[#out + 1] = utf8_char(code)
      else
        fail(i, "bad escape \\" .. e)
      end
    else
      local j = text:find('["\\]', i) or #text + 1
      out[#out + 1] = text:sub(i, j - 1)
      i = j
    end
  end
end

local function read_array(text, pos)
  local out, n = {}, 0
  pos = skip(text, pos + 1)
  if text:sub(pos, pos) == "]" then return out, pos + 1 end
  while true do
    local v
    v, pos = value(text, pos)
    n = n + 1
    out[n] = v
    pos = skip(text, pos)
    local c = text:sub(pos, pos)
    if c == "]" then return out, pos + 1 end
    if c ~= "," then fail(pos, "expected , or ]") end
    pos = skip(text, pos + 1)
  end
end

local function read_object(text, pos)
  local out = {}
  pos = skip(text, pos + 1)
  if text:sub(pos, pos) == "}" then return out, pos + 1 end
  while true do
    if text:sub(pos, pos) ~= '"' then fail(pos, "expected a key") end
    local key
    key, pos = read_string(text, pos)
    pos = skip(text, pos)
    if text:sub(pos, pos) ~= ":" then fail(pos, "expected :") end
    local v
    v, pos = value(text, skip(text, pos + 1))
    out[key] = v
    pos = skip(text, pos)
    local c = text:sub(pos, pos)
    if c == "}" then return out, pos + 1 end
    if c ~= "," then fail(pos, "expected , or }") end
    pos = skip(text, pos + 1)
  end
end

local LITERALS = { ["true"] = true, ["false"] = false }

value = function(text, pos)
  pos = skip(text, pos)
  local c = text:sub(pos, pos)
  if c == "{" then return read_object(text, pos) end
  if c == "[" then return read_array(text, pos) end
  if c == '"' then return read_string(text, pos) end
  for word, v in pairs(LITERALS) do
    if text:sub(pos, pos + #word - 1) == word then return v, pos + #word end
  end
  if text:sub(pos, pos + 3) == "null" then return J.null, pos + 4 end
  local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if num and num ~= "" and tonumber(num) then return tonumber(num), pos + #num end
  fail(pos, c == "" and "unexpected end" or ("unexpected " .. c))
end

--- Decode a JSON text: the value, or nil and what is wrong.
function J.decode(text)
  if type(text) ~= "string" then return nil, "no JSON text" end
  local ok, result, pos = pcall(value, text, 1)
  if not ok then
    if type(result) == "table" and result.json then return nil, result.json end
    error(result, 0)
  end
  pos = skip(text, pos)
  if pos <= #text then return nil, "JSON error at character " .. pos .. ": text after the value" end
  return result
end

return J
