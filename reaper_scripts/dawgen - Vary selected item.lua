-- @description dawgen: Variations of the selected item on new tracks below it
-- @author dawgen
-- Listed in index.xml (ReaPack) together with the shared client it needs.
-- Thin action: all logic lives in dawgen_client.lua next to this file.
local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
package.path = here .. "?.lua;" .. package.path
require("dawgen_client").run("vary")
