-- Project state -> request: tempo, meter, time selection, sample rate, output folder.
local H = require("spec.helper")

describe("project state", function()
  local P, S

  local function load()
    P = require("dawgen.project")
    S = require("dawgen.settings")
  end

  it("turns a 2-bar time selection at 93 bpm in 4/4 into bars=2 and its exact seconds", function()
    local f = H.project()
    f.ts = { 8 * 60 / 93, 16 * 60 / 93 } -- bars 3 and 4
    load()
    local s = S.load()
    local state = P.read_state(s)
    local req = P.generate_request("generate", state, { prompt = "drum loop", count = "1", seed = "" }, s, "dawgen")
    local got = {}
    for _, kv in ipairs(req.params) do got[kv[1]] = kv[2] end
    assert.are.equal("93", got.bpm)
    assert.are.equal("2", got.bars)
    assert.are.equal("5.16129", got.seconds) -- 2 * 4 * 60 / 93
    assert.are.equal("44100", got.sample_rate)
    assert.are.equal("dawgen", got.dir)
    assert.is_nil(got.seed)
    assert.are.equal("time selection", req.length.origin)
  end)

  it("counts quarter notes, so 2 bars of 3/4 are 1.5 bars of 4/4", function()
    local f = H.project({ num = 3, denom = 4 })
    f.ts = { 0, 6 * 60 / 93 }
    load()
    local len = P.length(P.read_state(S.load()), 4)
    assert.are.equal("1.5", P.num(len.bars))
    assert.are.equal("3.870968", P.num(len.seconds))
  end)

  it("without a time selection uses the bars setting in the project's meter from the cursor", function()
    local f = H.project({ num = 6, denom = 8 })
    H.settings(f, { bars = "2" })
    load()
    local len = P.length(P.read_state(S.load()), tonumber(S.load().bars))
    -- two bars of 6/8 = 6 quarter notes = 1.5 bars of 4/4
    assert.are.equal("1.5", P.num(len.bars))
    assert.are.equal(P.num(6 * 60 / 93), P.num(len.seconds))
    assert.are.equal("2 bars", len.origin)
  end)

  it("uses the device rate when the project does not force one, and none when told so", function()
    local f = H.project({ srate_use = 0, device_srate = "96000" })
    load()
    assert.are.equal(96000, P.read_state(S.load()).sample_rate)
    H.settings(f, { sample_rate = "daemon" })
    assert.is_nil(P.read_state(S.load()).sample_rate)
    H.settings(f, { sample_rate = "22050" })
    assert.are.equal(22050, P.read_state(S.load()).sample_rate)
  end)

  it("places results in the project through dir, relative to the daemon's root", function()
    local f = H.project({ project_path = "/home/me/Music/songs/tune" })
    load()
    local state = P.read_state(S.load())
    assert.are.equal("dawgen", P.output_dir(S.load(), state)) -- root is the project itself
    H.settings(f, { daemon_root = "/home/me/Music", subfolder = "gen/reaper" })
    assert.are.equal("songs/tune/gen/reaper", P.output_dir(S.load(), state))
    H.settings(f, { daemon_root = "/elsewhere" })
    local dir, err = P.output_dir(S.load(), state)
    assert.is_nil(dir)
    assert.matches("not inside the daemon's output root", err)
    H.settings(f, { results_in = "daemon" })
    assert.is_nil((P.output_dir(S.load(), state)))
  end)

  it("compares Windows paths without regard to case or separator", function()
    H.project()
    load()
    assert.are.equal("Songs/Tune", P.relative("C:\\Music\\Songs\\Tune", "c:/music", true))
    assert.is_nil(P.relative("C:\\Musicals\\x", "C:\\Music", true))
  end)

  it("reads the section of the source an item plays, and says when it is not a plain section", function()
    local f = H.project()
    local item = f:add_item(f.tracks[1], { position = 4, length = 2, startoffs = 1.5, file = "/media/take.wav" })
    load()
    local info = P.read_item(item)
    assert.are.equal("/media/take.wav", info.file)
    assert.are.equal(1.5, info.start)
    assert.are.equal(3.5, info.stop)
    assert.is_nil(info.not_plain)
    local fx = P.read_item(f:add_item(f.tracks[1], { fx = 2, playrate = 2 }))
    assert.matches("take FX", fx.not_plain)
    assert.matches("playback rate", fx.not_plain)
    local rev = P.read_item(f:add_item(f.tracks[1], { section = true, file = "/media/rev.wav" }))
    assert.are.equal("/media/rev.wav", rev.file)
    assert.matches("reversed or section", rev.not_plain)
    local _, err = P.read_item(f:add_item(f.tracks[1], { midi = true }))
    assert.matches("MIDI", err)
  end)

  it("writes numbers short and exact to the microsecond", function()
    H.project()
    load()
    assert.are.equal("2", P.num(2.0000000000001))
    assert.are.equal("0.25", P.num(0.25))
    assert.are.equal("0", P.num(-0.0000001))
  end)
end)

describe("settings", function()
  it("keeps defaults for missing or invalid stored values and refuses invalid saves", function()
    local f = H.project()
    H.settings(f, { port = "99999", host = "10.0.0.2" })
    local S = require("dawgen.settings")
    local s = S.load()
    assert.are.equal("9950", s.port)
    assert.are.equal("10.0.0.2", s.host)
    local ok, err = S.save({ port = "0" })
    assert.is_nil(ok)
    assert.matches("daemon port", err)
    assert.truthy(S.save({ port = "9951", render = "ALWAYS", subfolder = "/gen/" }))
    assert.are.equal("9951", S.load().port)
    assert.are.equal("always", S.load().render)
    assert.are.equal("gen", S.load().subfolder)
    assert.is_nil(S.save({ subfolder = "../out" }))
    assert.truthy(f.persisted["dawgen\0port"])
  end)

  it("declares every setting on one dialog page, captions without commas, at most 16 a page", function()
    H.project()
    local S = require("dawgen.settings")
    local seen = {}
    for _, page in ipairs(S.PAGES) do
      assert.is_true(#page.keys <= 16)
      for _, key in ipairs(page.keys) do
        assert.is_nil(seen[key])
        seen[key] = true
        assert.is_nil(S.SPECS[key][2]:find(",", 1, true))
      end
    end
    for key in pairs(S.SPECS) do assert.is_true(seen[key], key) end
  end)
end)
