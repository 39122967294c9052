-- A bass line over the chords of the selected MIDI item, on a new track below it.
-- @noindex
-- (ReaPack installs this action with the dawgen package: @provides in dawgen_client.lua.)
-- Thin action (its name in the action list is this file name): all logic is in dawgen_client.lua.
local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
package.path = here .. "?.lua;" .. package.path
require("dawgen_client").run("bassline")
