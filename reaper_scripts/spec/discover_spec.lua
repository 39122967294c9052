-- The daemons on the LAN (issue #23): Settings runs `dawgen discover --json` in the background,
-- lists what it heard, numbered, before the host and token fields; a pick fills host and port.
local H = require("spec.helper")

-- As `dawgen discover --json` prints it (bridge/discovery.py found_json).
local FOUND = [[
[
  {"name": "dawgen on studio-pc", "addresses": ["fe80::1%eth0", "192.168.1.20"], "port": 9950, "token": true,
   "version": "0.9.0", "tcp": true, "web_port": 9957, "server": "studio-pc.local.", "host": "fe80::1%eth0"},
  {"name": "dawgen on gpu-box", "addresses": [], "port": 9960, "token": false, "version": "0.9.1", "tcp": true,
   "web_port": 0, "server": "gpu-box.local.", "host": "gpu-box.local"},
  {"name": "broken", "addresses": ["10.0.0.9"], "port": 0, "token": true, "version": "0.9.0"}
]
]]

local function split(defaults, sep)
  local v = {}
  for x in (defaults .. sep):gmatch("(.-)" .. sep) do v[#v + 1] = x end
  return v
end

local function as_is(_, defaults, sep) return split(defaults, sep) end

-- Settings opened with these answers (after the LAN's), then `dawgen discover` ends with `out`.
local function open(f, out, rc)
  local shown = #f.dialogs
  H.run("settings")
  local spool = require("dawgen.discover").pending
  assert.are.same({ H.dawgen_stub, "discover", "--seconds", "2", "--json" }, spool.argv)
  assert.are.equal(shown, #f.dialogs, "no page before the LAN has been listened to")
  H.lan(f, out, rc)
end

describe("the daemons on the LAN", function()
  it("reads `dawgen discover --json`: an IPv4 address first, the port, whether a token is needed", function()
    H.project()
    local D = require("dawgen.discover")
    local rows = assert(D.parse(FOUND))
    assert.are.equal(2, #rows, "an entry without a usable port is left out")
    assert.are.same({ name = "dawgen on studio-pc", host = "192.168.1.20", port = "9950", token = true,
                      version = "0.9.0", web_port = 9957 }, rows[1])
    assert.are.equal("gpu-box.local", rows[2].host)
    assert.is_false(rows[2].token)
    assert.are.same({}, D.parse("[]\n"))
    assert.is_nil(D.parse("no dawgen daemon heard"))
    assert.matches("could not be read", select(2, D.parse("{")))
    local text = D.describe(rows)
    assert.matches("1%. dawgen on studio%-pc  192%.168%.1%.20:9950  %(wants a client token; version 0%.9%.0%)", text)
    assert.matches("2%. dawgen on gpu%-box  gpu%-box%.local:9960  %(no token needed; version 0%.9%.1%)", text)
    assert.are.equal(rows[2], D.find(rows, " 2 "))
    assert.is_nil(D.find(rows, "3"))
    assert.is_nil(D.find(rows, "gpu-box"))
  end)
end)

describe("Settings offers the daemons on the LAN", function()
  it("lists them numbered; a pick fills host and port and says a token is needed", function()
    local f = H.project()
    f.box_answers = { 1 }
    H.answer(f, { "7" }) -- not on the list: asked again
    H.answer(f, { "1" })
    H.answer(f, as_is) -- page 1, with the pick filled in
    H.answer(f, as_is) -- page 2
    open(f, FOUND)
    assert.matches("daemons on the LAN:\n\n1%. dawgen on studio%-pc", f.boxes[1].msg)
    assert.matches("2%. dawgen on gpu%-box", f.boxes[1].msg)
    assert.matches("Type a number from 1 to 2", f.boxes[2].msg)
    local page1 = f.dialogs[3]
    assert.matches("connection and output %(dawgen on studio%-pc: wants a client token%)", page1.title)
    local values = split(page1.defaults, page1.sep)
    assert.are.equal("192.168.1.20", values[2])
    assert.are.equal("9950", values[3])
    assert.are.equal("192.168.1.20", f:get_ext("dawgen", "host"))
    assert.are.equal("9950", f:get_ext("dawgen", "port"))
  end)

  it("a daemon without a token says so; an empty pick keeps typing a host", function()
    local f = H.project()
    H.answer(f, { "2" })
    H.answer(f, as_is)
    H.answer(f, as_is)
    open(f, FOUND)
    assert.matches("%(dawgen on gpu%-box: no token needed%)", f.dialogs[2].title)
    assert.are.equal("gpu-box.local", f:get_ext("dawgen", "host"))
    assert.are.equal("9960", f:get_ext("dawgen", "port"))
    H.forget()
    H.answer(f, { "" })
    H.answer(f, function(_, defaults, sep)
      local v = split(defaults, sep)
      v[2] = "typed-host"
      return v
    end)
    H.answer(f, as_is)
    open(f, FOUND)
    assert.are.equal("dawgen settings: connection and output", f.dialogs[5].title)
    assert.are.equal("typed-host", f:get_ext("dawgen", "host"))
    assert.are.equal("9960", f:get_ext("dawgen", "port"), "kept")
  end)

  it("none heard, or dawgen cannot run: a clear line, and the pages as before", function()
    local f = H.project()
    H.answer(f, as_is)
    H.answer(f, as_is)
    open(f, "[]\n")
    assert.are.equal(0, #f.boxes)
    assert.matches("%(no dawgen daemon heard on the LAN: type a host%)", f.dialogs[1].title)
    H.forget()
    H.answer(f, as_is)
    H.answer(f, as_is)
    open(f, "", 127)
    assert.matches("%(no LAN search: could not run .*dawgen%)", f.dialogs[3].title)
    H.forget()
    H.answer(f, as_is)
    H.answer(f, as_is)
    open(f, "", 2)
    assert.matches("python%-zeroconf missing", f.dialogs[5].title)
  end)

  it("without the dawgen executable the pages come at once, saying why nothing was searched", function()
    local f = H.project()
    f:set_ext("dawgen", "dawgen_path", "")
    H.answer(f, as_is)
    H.answer(f, as_is)
    H.answer(f, false) -- the adapters page (nothing to list without dawgen)
    H.run("settings")
    assert.is_nil(require("dawgen.discover").pending)
    assert.matches("%(no LAN search: the dawgen executable is not set%)", f.dialogs[1].title)
  end)
end)
