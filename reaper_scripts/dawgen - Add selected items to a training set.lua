-- Add the selected items' audio (trimmed to the items) to a training set.
-- @noindex
-- (ReaPack installs this action with the dawgen package: @provides in dawgen_client.lua.)
-- Thin action (its name in the action list is this file name): all logic is in dawgen_client.lua.
local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
package.path = here .. "?.lua;" .. package.path
require("dawgen_client").run("add_to_training_set")
