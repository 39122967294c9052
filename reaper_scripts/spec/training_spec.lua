-- Issue 19, training from REAPER: "dawgen - Add selected items to a training set" and
-- "dawgen - Train on a training set", through their real script files.
local H = require("spec.helper")

H.SCRIPTS.add_to_training_set = "dawgen - Add selected items to a training set.lua"
H.SCRIPTS.train = "dawgen - Train on a training set.lua"

local function read(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local t = fh:read("a")
  fh:close()
  return t
end

--- A float WAV's channels, rate and samples.
local function read_wav(path)
  local data = assert(read(path), "no file " .. path)
  assert(data:sub(1, 4) == "RIFF" and data:sub(9, 12) == "WAVE")
  local fmt, channels, rate, _, _, bits = string.unpack("<I2I2I4I4I2I2", data, 21)
  assert.are.equal(3, fmt)
  assert.are.equal(32, bits)
  assert.are.equal("fact", data:sub(37, 40))
  local at = data:find("data", 45, true)
  local size = string.unpack("<I4", data, at + 4)
  assert.are.equal(#data - (at + 7), size, "the data chunk's size")
  assert.are.equal(#data - 8, string.unpack("<I4", data, 5), "the RIFF size")
  local samples = {}
  for i = 0, size / 4 - 1 do samples[#samples + 1] = string.unpack("<f", data, at + 8 + i * 4) end
  return { channels = channels, rate = rate, samples = samples }
end

local function ramp(t, ch) return ((t * 1000) % 1000) / 1000 * (ch == 0 and 1 or -1) * 0.5 end

describe("Add selected items to a training set", function()
  it("writes what each item plays, trimmed to it, with its take name in a .wav.txt sidecar", function()
    local project = H.scratch("song")
    local f = H.project({ project_path = project })
    f:add_item(f.tracks[1], { position = 2, length = 0.25, startoffs = 0.5, srate = 8000, channels = 1,
                              name = "808 Kick.wav", selected = true })
    f:add_item(f.tracks[2], { position = 5, length = 0.5, playrate = 2, srate = 8000, channels = 2, name = "",
                              notes = "dusty snare\nsecond line", selected = true })
    f:add_item(f.tracks[3], { position = 9, midi = true, selected = true })
    H.answer(f, { "My Drums", "" })
    H.run("add_to_training_set")
    local folder = project .. "/dawgen-datasets/My Drums"
    local kick = read_wav(folder .. "/808-kick.wav")
    assert.are.same({ 1, 8000, 2000 }, { kick.channels, kick.rate, #kick.samples })
    for _, i in ipairs({ 0, 1, 999, 1999 }) do
      assert.near(ramp(0.5 + i / 8000, 0), kick.samples[i + 1], 1e-6) -- the source from the item's offset
    end
    assert.are.equal("808 Kick\n", read(folder .. "/808-kick.wav.txt"))
    local snare = read_wav(folder .. "/dusty-snare.wav")
    assert.are.same({ 2, 4000 * 2 }, { snare.channels, #snare.samples }) -- 0.5 s of item, stereo
    assert.near(ramp(2 * 0.25, 1), snare.samples[2 * 2000 + 2], 1e-6) -- the item plays its source at rate 2
    assert.are.equal("dusty snare\n", read(folder .. "/dusty-snare.wav.txt"))
    for _, acc in ipairs(f.accessors) do assert.is_false(acc.open) end
    assert.matches("Added 2 clip%(s%), 0%.8 s", f.boxes[1].msg)
    assert.matches("item 3 is not audio", f.boxes[1].msg)
    assert.are.equal(0, #f.undo) -- nothing in the project changed
  end)

  it("never overwrites a clip already in the set, and uses the settings' folder", function()
    local root = H.scratch("sets")
    local f = H.project()
    H.settings(f, { datasets = root })
    f:add_item(f.tracks[1], { length = 0.1, name = "hit", selected = true })
    H.answer(f, { "hits", "" })
    H.run("add_to_training_set")
    H.answer(f, { "hits", "" })
    H.run("add_to_training_set")
    assert.truthy(read(root .. "/hits/hit.wav"))
    assert.truthy(read(root .. "/hits/hit-2.wav"))
  end)
end)

describe("Train on a training set", function()
  local function with_set()
    local root = H.scratch("sets")
    os.execute("mkdir -p '" .. root .. "/my drums'")
    local f = H.project()
    H.settings(f, { datasets = root })
    return f, root
  end

  it("sends train in the background, shows step and loss, and offers the new adapter when the daemon lists it", function()
    local f, root = with_set()
    H.answer(f, { "my drums", "stable-audio-lora", "sao-small", "500", "", "mydrums" })
    H.run("train")
    local job = H.job()
    local sent = H.sent(job)
    assert.are.equal("train", sent.verb)
    assert.are.same({ "kind", "base", "data", "name", "steps", "trigger" }, sent.order)
    assert.are.same({ kind = "stable-audio-lora", base = "sao-small", data = root .. "/my drums", name = "my-drums",
                      steps = "500", trigger = "mydrums" }, sent.params)
    assert.are.equal("604800", sent.flags.timeout) -- a run outlasts the usual request timeout
    H.progress(job, "queued job t1 (position 0)\n  dataset: 12 clips\n   4.0% training, ~60.0s left\n  step 20/500, loss 0.1234, 3.20 it/s\n")
    f:step()
    assert.matches("step 20/500, loss 0%.1234", table.concat(f.gfx_texts, "|"))
    H.finish(job, 0, "/state/models/my-drums\n/out/dawgen/training/my-drums/step-500/demo-0.wav\n")
    f:step()
    assert.are.equal(0, #f.inserts) -- a run folder and demos are not inserted
    local fetch = H.client().lora.models_fetch
    assert.truthy(fetch, "the model list is read again")
    f.box_answers = { 6 }
    H.finish({ spool = fetch }, 0, '[{"name": "sao-small", "loras": [{"name": "my-drums", "base": "sao-small"}]}]')
    f:step()
    assert.matches("my%-drums is trained %(/state/models/my%-drums%).*adapter 1 with sao%-small", f.boxes[1].msg)
    assert.are.equal("my-drums", f:get_ext("dawgen", "lora_1"))
    assert.are.equal("sao-small", f:get_ext("dawgen", "model_generate"))
  end)

  it("refuses an unknown kind or set before sending anything", function()
    local f = with_set()
    H.answer(f, { "my drums", "magic", "", "500", "", "" })
    H.run("train")
    assert.matches("Kind must be one of", f.boxes[1].msg)
    H.answer(f, { "nope", "stable-audio-lora", "", "500", "", "" })
    H.run("train")
    assert.matches('No training set "nope"', f.boxes[2].msg)
    assert.are.equal(0, #f.execs)
  end)
end)
