-- dawgen Reaper scripts: a daemon on another machine (issue #23: the studio's GPU box on the LAN).
--
-- Such a daemon cannot read this computer's files, nor this computer its files. So when `host` is
-- not this computer (or the `fetch` setting says always), every request runs as
-- `dawgen send ... --fetch <project folder>/<subfolder>`: `input=FILE` is uploaded with the request
-- and the results are downloaded into the project before they are inserted. `dir` is then only the
-- `subfolder` of the daemon's own output root (daemon_root maps this machine's paths; it means
-- nothing there). The client token (Settings) reaches `dawgen send` as DAWGEN_TOKEN in its
-- environment (transport.lua), never on a command line, in a message or in the console.
-- @noindex

local P = require("dawgen.project")

local N = {}

N.TOKEN_ENV = "DAWGEN_TOKEN"

--- Whether `host` is this computer: localhost, 127.0.0.0/8, ::1 (also [::1] and ::ffff:127.x.y.z),
--- as the daemon's own is_loopback decides (server/config_clients.py). Empty means the default.
function N.is_local(host)
  local h = tostring(host or ""):lower():gsub("^%s+", ""):gsub("%s+$", ""):gsub("^%[(.*)%]$", "%1")
  if h == "" or h == "localhost" or h == "::1" or h:match("^0*:0*:0*:0*:0*:0*:0*:0*1$") then return true end
  h = h:gsub("^::ffff:", "")
  local a, b, c, d = h:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return false end
  for _, part in ipairs({ a, b, c, d }) do
    if tonumber(part) > 255 then return false end
  end
  return tonumber(a) == 127
end

--- Whether requests upload their input and download their results (`fetch`: auto | always | never).
function N.fetching(settings)
  local mode = settings.fetch or "auto"
  if mode == "always" then return true end
  if mode == "never" then return false end
  return not N.is_local(settings.host)
end

local function join(folder, sub)
  folder = tostring(folder or ""):gsub("[/\\]+$", "")
  if sub == nil or sub == "" then return folder end
  return folder .. "/" .. sub
end

--- The folder `--fetch` downloads into: the project's `subfolder`, where a local daemon's results
--- land too; nil when requests do not fetch.
function N.fetch_dir(settings, state)
  if not N.fetching(settings) then return nil end
  return join(state.project_path, settings.subfolder)
end

--- The `dir` parameter: the daemon's `subfolder` when fetching, else project.lua's mapping. Returns
--- dir (nil = none) or nil and a message.
function N.output_dir(settings, state)
  if not N.fetching(settings) then return P.output_dir(settings, state) end
  if settings.results_in ~= "project" or settings.subfolder == "" then return nil end
  return settings.subfolder
end

--- The environment a `dawgen send` needs: the client token, when one is set.
function N.env(settings)
  local token = tostring(settings.token or "")
  if token == "" then return nil end
  return { [N.TOKEN_ENV] = token }
end

--- Where the daemon is, for messages.
function N.where(settings)
  return tostring(settings.host) .. ":" .. tostring(settings.port)
end

return N
