-- dawgen Reaper scripts: the daemons on the LAN (issue #23), offered by Settings before its host
-- and token fields. `dawgen discover --json` listens (zeroconf/mDNS) for daemons that announce
-- themselves and prints a list of {name, addresses, host, port, token, version, web_port, ...}
-- (bridge/discovery.py, docs/FRONT-DOORS.md); it runs in the background like every other call.
-- @noindex

local T = require("dawgen.transport")
local P = require("dawgen.project")
local U = require("dawgen.ui")
local J = require("dawgen.json")

local D = {}

D.SECONDS = 2  -- how long `dawgen discover` listens
D.GRACE = 15   -- then how long the spool may take before we give up

local function text_of(v) return type(v) == "string" and v or "" end

-- The address to type: the first IPv4 one (a link-local IPv6 address needs its zone), else `host`.
local function pick_host(r)
  local addresses = type(r.addresses) == "table" and r.addresses or {}
  for _, a in ipairs(addresses) do
    if type(a) == "string" and a:match("^%d+%.%d+%.%d+%.%d+$") then return a end
  end
  local host = text_of(r.host)
  if host == "" then host = text_of(addresses[1]) end
  if host == "" then host = text_of(r.server):gsub("%.$", "") end
  return host
end

--- `dawgen discover --json`'s output -> rows { name, host, port, token, version, web_port }, or nil
--- and why. Entries without a usable host or port are left out.
function D.parse(text)
  local list, err = J.decode((text or ""):match("^%s*(.-)%s*$"))
  if type(list) ~= "table" then return nil, "the list of daemons could not be read (" .. tostring(err or "not a list") .. ")" end
  local rows = {}
  for _, r in ipairs(list) do
    local port = type(r) == "table" and math.tointeger(tonumber(r.port) or 0) or nil
    local host = type(r) == "table" and pick_host(r) or ""
    if port and port >= 1 and port <= 65535 and host ~= "" and not host:find("[%s,]") then
      rows[#rows + 1] = { name = text_of(r.name) ~= "" and r.name or host, host = host, port = string.format("%d", port),
                          token = r.token ~= false, version = text_of(r.version) ~= "" and r.version or "?",
                          web_port = math.tointeger(tonumber(r.web_port) or 0) or 0 }
    end
  end
  return rows
end

--- One numbered line a daemon: name, address:port, whether it wants a token, version.
function D.describe(rows)
  local lines = {}
  for i, r in ipairs(rows) do
    lines[i] = string.format("%d. %s  %s:%s  (%s; version %s)", i, r.name, r.host, r.port,
      r.token and "wants a client token" or "no token needed", r.version)
  end
  return table.concat(lines, "\n")
end

--- The row a typed choice names (its number); nil for anything else.
function D.find(rows, choice)
  local n = math.tointeger(tonumber(tostring(choice or ""):match("^%s*(%d+)%s*$") or ""))
  return n and rows[n] or nil
end

--- Listen in the background: done(rows) or done(nil, why).
function D.fetch(s, done)
  local exe = s.dawgen_path
  if exe == "" or not reaper.file_exists(exe) then return done(nil, "the dawgen executable is not set") end
  local argv = { exe, "discover", "--seconds", tostring(D.SECONDS), "--json" }
  D.pending = T.collect(argv, "discover", P.is_windows(), D.GRACE, "the LAN", "list of daemons", function(text, why, rc)
    D.pending = nil
    if text then return done(D.parse(text)) end
    if rc == 126 or rc == 127 or rc == 9009 then why = "could not run " .. exe
    elseif rc == 2 then why = "dawgen discover did not run (python-zeroconf missing, or an older dawgen)" end
    return done(nil, why)
  end)
end

--- Offer what was found, before the host and token fields: a pick by number sets current.host and
--- current.port. Returns the line page 1's title carries (what was found, whether a token is needed).
function D.offer(rows, why, current)
  if not rows then return "no LAN search: " .. tostring(why) end
  if #rows == 0 then return "no dawgen daemon heard on the LAN: type a host" end
  if reaper.ShowMessageBox("dawgen daemons on the LAN:\n\n" .. D.describe(rows) .. "\n\nNext, pick one by its number, "
    .. "or leave it empty to keep typing a host.", U.TITLE, 1) ~= 1 then return "" end
  local choice = ""
  while true do
    local v = U.inputs("dawgen: daemons on the LAN", { { "Daemon number (empty = type a host)", choice } })
    if not v or v[1]:match("^%s*$") then return "" end
    local r = D.find(rows, v[1])
    if r then
      current.host, current.port = r.host, r.port
      return r.name .. (r.token and ": wants a client token" or ": no token needed")
    end
    choice = v[1]
    U.message(string.format("Type a number from 1 to %d, or leave it empty.", #rows))
  end
end

return D
