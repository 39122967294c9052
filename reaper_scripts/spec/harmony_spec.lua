-- The harmony actions (dawgen/harmony.lua) through their real script files: the requests, the
-- selected MIDI item written as a .mid, results inserted below it with their chord symbols as take
-- markers, a trio split into three items in a folder.
local H = require("spec.helper")

-- A small SMF builder for the daemon's results (480 per quarter).
local function vlq(n)
  local out = { string.char(n & 0x7f) }
  n = n >> 7
  while n > 0 do table.insert(out, 1, string.char((n & 0x7f) | 0x80)) n = n >> 7 end
  return table.concat(out)
end
local function chunk(tag, body) return tag .. string.pack(">I4", #body) .. body end
local function meta(kind, text) return "\xff" .. string.char(kind) .. vlq(#text) .. text end
-- notes: { {pitch, beat, beats} }; markers: { {beat, text, kind (6 marker, 1 text)} }
local function track(name, notes, markers, channel, stop)
  local ev = {}
  for _, m in ipairs(markers or {}) do ev[#ev + 1] = { t = m[1] * 480, o = 0, b = meta(m[3] or 6, m[2]) } end
  for _, n in ipairs(notes or {}) do
    ev[#ev + 1] = { t = n[2] * 480, o = 2, b = string.char(0x90 | (channel or 0), n[1], 90) }
    ev[#ev + 1] = { t = (n[2] + n[3]) * 480, o = 1, b = string.char(0x80 | (channel or 0), n[1], 0) }
  end
  table.sort(ev, function(a, b) if a.t ~= b.t then return a.t < b.t end return a.o < b.o end)
  local body, now = name and ("\0" .. meta(3, name)) or "", 0
  for _, e in ipairs(ev) do body = body .. vlq(e.t - now) .. e.b now = e.t end
  return chunk("MTrk", body .. vlq((stop or 16) * 480 - now) .. "\xff\x2f\0")
end
local TEMPO = chunk("MTrk", "\0\xff\x51\3\x07\xa1\x20\0\xff\x2f\0")
local function smf(tracks) return chunk("MThd", string.pack(">I2I2I2", 1, #tracks, 480)) .. table.concat(tracks) end

local function result(name, bytes)
  local path = H.scratch(name)
  local fh = assert(io.open(path, "wb"))
  fh:write(bytes)
  fh:close()
  return path
end

local CHORDS = smf({ TEMPO, track("chords", { { 62, 0, 4 }, { 67, 4, 4 } }, { { 0, "Dm7" }, { 0, "Dm7", 1 }, { 4, "G7" } }) })
local F = require("dawgen.smf")

local function read(path)
  local fh = assert(io.open(path, "rb"))
  local parsed = assert(F.read(fh:read("a")))
  fh:close()
  return parsed
end

-- The Keys track holds a MIDI item at 20 s (31 quarters at 93 bpm), 8 quarters long, its take
-- starting 1 quarter into its notes; PPQ 960 from the take's start.
local function keys_item(f, notes)
  local q = 60 / f.tempo
  return f:add_item(f.tracks[3], { position = 20, length = 8 * q, startoffs = q, midi = true, selected = true,
    name = "Lead Line", midi_notes = notes or {
      { from = 0, to = 960, pitch = 60, vel = 100 },              -- before the item's start: not sent
      { from = 960, to = 1920, pitch = 64, vel = 90 },            -- quarter 0 of the item
      { from = 2400, to = 2880, pitch = 67, vel = 80 },           -- 1.5
      { from = 3840, to = 5760, pitch = 72, vel = 70, muted = true },
      { from = 7680, to = 11520, pitch = 65, vel = 60 },          -- 7, cut at the item's end (8)
      { from = 9600, to = 10560, pitch = 69, vel = 60 },          -- 9: after the item's end
    } })
end

describe("Generate chords into selected track", function()
  it("sends midi/generate kind=chords with the chord options, inserts the .mid with its chords as take markers", function()
    local f = H.project()
    H.settings(f, { model_midi = "my-midi" })
    H.answer(f, { "Chords", "Am", "Am F C G", "half", "seventh", "0.7", "2", "5" })
    H.run("harmony")
    local sent = H.sent(H.job())
    assert.are.equal("midi/generate", sent.verb)
    assert.are.same({ "kind", "bpm", "bars", "time_signature", "key", "chords", "chord_rhythm", "voicing", "complexity",
                      "count", "seed", "model", "dir" }, sent.order)
    assert.are.same({ kind = "chords", bpm = "93", bars = "4", time_signature = "4/4", key = "Am", chords = "Am F C G",
                      chord_rhythm = "half", voicing = "seventh", complexity = "0.7", count = "2", seed = "5", model = "my-midi",
                      dir = "dawgen" }, sent.params)
    local mid = result("chords_5.mid", CHORDS)
    H.finish(H.job(), 0, mid .. "\n")
    f:step()
    local item = f.tracks[2].items[1]
    assert.are.equal(mid, item.take.source.file)
    assert.are.equal(10, item.position)
    assert.are.same({ { name = "Dm7", srcpos = 0 }, { name = "G7", srcpos = 4 * 60 / 93 } }, item.take.markers)
    assert.are.same({ "dawgen: Generate chords" }, f.undo)
    assert.are.equal("Am F C G", f:get_ext("dawgen", "last_chords"))
  end)

  it("refuses a kind it does not know, sending nothing", function()
    local f = H.project()
    H.answer(f, { "trio", "", "", "bar", "triad", "0.5", "1", "" })
    H.run("harmony")
    assert.are.equal(0, #f.execs)
    assert.matches("chords, bass or piano", f.boxes[1].msg)
  end)
end)

describe("Generate trio at edit cursor", function()
  it("splits the trio's three tracks into three items in a new folder, each with the chords", function()
    local f = H.project()
    H.answer(f, { "C", "", "bar", "0.5", "1", "" })
    H.run("trio")
    local sent = H.sent(H.job())
    assert.are.equal("trio", sent.params.kind)
    local mid = result("trio_1.mid", smf({ TEMPO, track("melody", { { 72, 0, 1 } }, { { 0, "C" }, { 8, "Am" } }),
      track("bass", { { 36, 0, 2 } }), track("drums", { { 36, 0, 1 }, { 38, 1, 1 } }, nil, 9) }))
    H.finish(H.job(), 0, mid .. "\n")
    f:step()
    local names = {}
    for i, t in ipairs(f.tracks) do names[i] = t.name end
    assert.are.same({ "Drums", "Bass", "dawgen trio", "melody", "bass", "drums", "Keys" }, names)
    for i, part in ipairs({ "melody", "bass", "drums" }) do
      local item = f.tracks[3 + i].items[1]
      local file = item.take.source.file
      assert.are.equal(mid:gsub("%.mid$", "") .. "_" .. part .. ".mid", file)
      local parsed = read(file)
      assert.are.equal(2, #parsed.tracks, "the tempo track and one part")
      assert.are.equal(part, parsed.tracks[2].name)
      assert.are.equal(10, item.position)
      assert.are.same({ "C", "Am" }, { item.take.markers[1].name, item.take.markers[2].name })
    end
    assert.are.equal(2, #read(f.tracks[6].items[1].take.source.file).tracks[2].ons, "the drums' two hits")
  end)
end)

describe("Harmonize selected item", function()
  it("writes what the item plays as a .mid, sends it, puts the result below the item and removes the .mid", function()
    local f = H.project()
    local item = keys_item(f)
    H.answer(f, { "4", "", "triad", "0.5", "1", "3" })
    H.run("harmonize")
    local sent = H.sent(H.job())
    assert.are.equal("midi/harmonize", sent.verb)
    assert.are.same({ "input", "bpm", "time_signature", "voices", "voicing", "complexity", "count", "seed", "dir" }, sent.order)
    assert.are.equal("4", sent.params.voices)
    local input = sent.params.input
    assert.matches("/Data/dawgen%-jobs/inputs/.+/lead%-line%.mid$", input)
    local parsed = read(input)
    local ons = {}
    for i, n in ipairs(parsed.tracks[1].ons) do ons[i] = { n.tick / 480, n.pitch, n.velocity } end
    assert.are.same({ { 0, 64, 90 }, { 1.5, 67, 80 }, { 7, 65, 60 } }, ons, "from the item's start, muted and outside notes left out")
    assert.are.equal("Lead Line", parsed.tracks[1].name)
    local mid = result("lead-line_harmonized_3.mid", CHORDS)
    H.finish(H.job(), 0, mid .. "\n")
    f:step()
    assert.are.equal("Lead Line chords", f.tracks[4].name)
    local new = f.tracks[4].items[1]
    assert.are.equal(20, new.position)
    assert.are.equal(item.length, new.length)
    assert.are.equal("Dm7", new.take.markers[1].name)
    assert.is_nil(io.open(input), "the written input is gone once the request ended")
  end)

  it("removes the written input when the daemon refuses too", function()
    local f = H.project()
    keys_item(f)
    H.answer(f, { "", "", "triad", "0.5", "1", "" })
    H.run("harmonize")
    local input = H.sent(H.job()).params.input
    H.finish(H.job(), 1, "", "dawgen send: bad_request: input: no notes\n")
    f:step()
    assert.is_nil(io.open(input))
    assert.matches("bad_request", f.boxes[1].msg)
  end)
end)

describe("Bass line and melody over the selected item", function()
  it("send midi/bassline and midi/improvise with density and temperature", function()
    for _, case in ipairs({ { "bassline", "midi/bassline", "Lead Line bass" }, { "improvise", "midi/improvise", "Lead Line melody" } }) do
      local f = H.project()
      keys_item(f)
      H.answer(f, { "0.8", "0.9", "1", "" })
      H.run(case[1])
      local sent = H.sent(H.job())
      assert.are.equal(case[2], sent.verb)
      assert.are.same({ "input", "bpm", "time_signature", "density", "temperature", "count", "dir" }, sent.order)
      H.finish(H.job(), 0, result("x.mid", CHORDS) .. "\n")
      f:step()
      assert.are.equal(case[3], f.tracks[4].name)
    end
  end)

  it("refuses without a MIDI item, or with one that plays no notes", function()
    local f = H.project()
    H.run("bassline")
    assert.matches("Select a MIDI item", f.boxes[1].msg)
    f:add_item(f.tracks[1], { selected = true })
    H.run("bassline")
    assert.matches("not MIDI", f.boxes[2].msg)
    f.tracks[1].items[1].selected = false
    keys_item(f, { { from = 0, to = 960, pitch = 60, vel = 100, muted = true } })
    H.run("improvise")
    assert.matches("plays no notes", f.boxes[3].msg)
    assert.are.equal(0, #f.execs)
  end)
end)
