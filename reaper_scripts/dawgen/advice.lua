-- dawgen Reaper scripts: what the user should do about an error reply, by its code
-- (docs/PROTOCOL.md, Errors). A request may bring its own advice (`request.hint`: train, pull).
-- @noindex

local S = require("dawgen.settings")
local N = require("dawgen.remote")

local V = {}

--- What the user should do about an error reply, by code (nil: nothing to add).
function V.hint(job, res)
  local s, verb = job.settings, job.request.verb
  local where = s.host .. ":" .. s.port
  local own = job.request.hint and job.request.hint(res) -- a verb's own advice (train)
  if own then return own end
  if res.code == "unknown_verb" then
    local caption = S.SPECS[job.request.model_key][2]:gsub(" %(.*", "")
    return string.format("The daemon has no model that does %q yet (the built-in synth only generates). "
      .. "Add one to the daemon's config, then name it in dawgen - Settings (%s).", verb, caption)
  elseif job.request.lora and (res.code == "unknown_model" or res.code == "bad_request") then
    return "The request named the LoRA adapters " .. job.request.lora .. ". Check the adapters in dawgen - Settings "
      .. "(its last page lists the ones the model has), or empty them to send none."
  elseif res.code == "unknown_model" or res.code == "model_unavailable" then
    return "Check the model names in dawgen - Settings; `dawgen doctor` says which models can run."
  elseif res.code == "out_of_root" then
    return "The output folder is outside the daemon's output root: check \"results in\", "
      .. "\"daemon output root\" and \"subfolder\" in dawgen - Settings."
  elseif res.code == "not_runnable" then
    return "Set the full path of the dawgen executable in dawgen - Settings."
  elseif res.code == "timeout" and not tostring(res.message):find("no reply", 1, true) then
    return "The request is still running in the daemon; raise \"give up after\" in dawgen - Settings."
  elseif res.code == "timeout" or res.code == "unreachable" then
    if not N.is_local(s.host) then return "No dawgen daemon answered at " .. where .. ": is it running there, and "
      .. "reachable from this computer (its --host, a firewall)?" end
    return "No dawgen daemon answered at " .. where .. ". Start it, e.g.: dawgen serve --project \""
      .. job.project_path .. "\""
  elseif res.code == "unauthorized" then
    return "The daemon at " .. where .. " wants this computer's client token: run `dawgen token add NAME` on the "
      .. "daemon's machine and paste the token it prints into dawgen - Settings (client token)."
  elseif res.code == "forbidden" then
    return "The daemon refused it for this client (another client's job, or a file on the daemon's disk: "
      .. "set \"upload/download files\" to always in dawgen - Settings)."
  elseif res.code == "queue_full" then
    return "The daemon's queue for this computer is full: wait for some jobs to finish, then try again."
  end
  return nil
end

return V
