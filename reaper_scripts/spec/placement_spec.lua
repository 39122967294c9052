-- Issue 19 (REAPER): the project folder, what InsertMedia does and does not promise, folder tracks,
-- and bar-exact loops on the grid. Each of these failed against the scripts before the fix.
local H = require("spec.helper")

local function names(f)
  local out = {}
  for i, t in ipairs(f.tracks) do out[i] = t.name end
  return out
end

-- Run an action to its end with these result files (seconds long each).
local function finish_with(f, files)
  local paths = {}
  for i, file in ipairs(files) do
    paths[i] = H.wav(file[1])
    f.media[paths[i]] = { length = file[2] }
  end
  H.finish(H.job(), 0, table.concat(paths, "\n") .. "\n")
  f:step()
  assert.are.equal(0, #f.boxes, f.boxes[1] and f.boxes[1].msg)
  return paths
end

local function bars_seconds(f, n) return n * 4 * 60 / f.tempo end

describe("the project folder", function()
  it("is the folder of the project file, not GetProjectPath's recording folder", function()
    local f = H.project({ project_path = "/home/me/Music/songs/tune", record_path = "/home/me/Music/songs/tune/Audio" })
    H.settings(f, { daemon_root = "/home/me/Music" })
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    assert.are.equal("songs/tune/dawgen", H.sent(H.job()).params.dir)
    H.finish(H.job(), 3, "", "dawgen send: timeout: no reply from the daemon at 127.0.0.1:9950\n")
    f:step()
    assert.matches('dawgen serve %-%-project "/home/me/Music/songs/tune"\n', f.boxes[1].msg)
  end)

  it("of an unsaved project is REAPER's recording folder, and a daemon root elsewhere says to save first", function()
    local f = H.project({ project_file = "", record_path = "/home/me/Documents/REAPER Media" })
    local P = require("dawgen.project")
    local S = require("dawgen.settings")
    local state = P.read_state(S.load())
    assert.are.equal("/home/me/Documents/REAPER Media", state.project_path)
    assert.is_false(state.project_saved)
    H.settings(f, { daemon_root = "/home/me/Music" })
    local dir, err = P.output_dir(S.load(), state)
    assert.is_nil(dir)
    assert.matches("not saved yet", err)
  end)
end)

describe("inserting results", function()
  it("finds the new item without relying on the selection InsertMedia leaves", function()
    local f = H.project() -- InsertMedia leaves the new item unselected here
    local other = f:add_item(f.tracks[1], { position = 3, selected = true, file = "/media/drums.wav" })
    local later = f:add_item(f.tracks[2], { position = 50, file = "/media/bass.wav" }) -- after the cursor
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    local paths = finish_with(f, { { "kick.wav", bars_seconds(f, 4) } })
    local bass = f.tracks[2]
    assert.are.equal(2, #bass.items)
    assert.are.equal(paths[1], bass.items[1].take.source.file) -- the new one sorts before `later`
    assert.are.equal(10, bass.items[1].position)
    assert.are.equal(later, bass.items[2])
    assert.are.equal(f.tracks[1], other.track) -- the selected item elsewhere was left alone
    assert.are.equal(3, other.position)
  end)

  it("finds it when REAPER put it on another track and selected other items too", function()
    local f = H.project({ insert_on_last_track = true })
    f:add_item(f.tracks[1], { position = 1, selected = true })
    H.answer(f, { "hat", "1", "" })
    H.run("generate")
    local paths = finish_with(f, { { "hat.wav", bars_seconds(f, 4) } })
    assert.are.equal(paths[1], f.tracks[2].items[1].take.source.file)
    assert.are.equal(0, #f.tracks[3].items)
    assert.are.equal(1, #f.tracks[1].items)
  end)
end)

describe("folder tracks", function()
  -- Drums(folder) > Kick, Snare(last); Bass; the item is on `track`.
  local function folder_project(track_name, opts)
    local f = H.project(opts)
    f.tracks = {}
    local drums = f:add_track("Drums", 1)
    f:add_track("Kick")
    f:add_track("Snare", -1)
    f:add_track("Bass")
    for _, t in ipairs(f.tracks) do
      if t.name == track_name then f:add_item(t, { position = 4, length = 2, file = "/media/x.wav", selected = true }) end
    end
    return f, drums
  end

  it("a variation of the last track in a folder stays in that folder", function()
    local f = folder_project("Snare")
    H.answer(f, { "", "1", "" })
    H.run("vary")
    finish_with(f, { { "snare_v1.wav", 2 } })
    assert.are.same({ "Drums:0", "Kick:1", "Snare:1", "dawgen vary:1", "Bass:0" }, f:layout())
    assert.are.equal(4, f.tracks[4].items[1].position)
  end)

  it("a variation of a folder track goes below the whole folder, at its level", function()
    local f = folder_project("Drums")
    H.answer(f, { "", "1", "" })
    H.run("vary")
    finish_with(f, { { "drums_v1.wav", 2 } })
    assert.are.same({ "Drums:0", "Kick:1", "Snare:1", "dawgen vary:0", "Bass:0" }, f:layout())
  end)

  it("stems of the last track in a folder make a folder inside that folder", function()
    local f = folder_project("Snare")
    H.run("separate")
    finish_with(f, { { "x-drums.wav", 2 }, { "x-bass.wav", 2 } })
    local layout = f:layout()
    for i, v in ipairs(layout) do layout[i] = v:gsub("^%d+%-", "") end -- scratch files are numbered
    assert.are.same({ "Drums:0", "Kick:1", "Snare:1", "x stems:1", "x-drums:2", "x-bass:2", "Bass:0" }, layout)
  end)

  it("opens a collapsed folder that results went into", function()
    local f, drums = folder_project("Snare")
    drums.compact = 2
    H.answer(f, { "", "1", "" })
    H.run("vary")
    finish_with(f, { { "snare_v1.wav", 2 } })
    assert.are.equal(0, drums.compact)
  end)
end)

describe("loops on the grid", function()
  it("a generated loop is exactly its bars at the project tempo, loop source on, whatever the import did", function()
    local f = H.project({ import_rate = 0.5 }) -- e.g. an import preference matched the file's tempo
    H.answer(f, { "drum loop", "1", "" })
    H.run("generate")
    finish_with(f, { { "loop.wav", bars_seconds(f, 4) } })
    local item = f.inserts[1].item
    assert.near(bars_seconds(f, 4), item.length, 1e-12)
    assert.are.equal(1, item.take.playrate)
    assert.is_true(item.loop)
  end)

  it("a file a little off its bars is played at the rate that makes it fit them", function()
    local f = H.project()
    H.answer(f, { "drum loop", "1", "" })
    H.run("generate")
    local exact = bars_seconds(f, 4)
    finish_with(f, { { "loop.wav", exact + 0.01 } })
    local item = f.inserts[1].item
    assert.near(exact, item.length, 1e-12)
    assert.near((exact + 0.01) / exact, item.take.playrate, 1e-12)
    assert.is_true(item.take.preserve_pitch)
  end)

  it("a continuation fills the bars it added and does not loop", function()
    local f = H.project()
    f:add_item(f.tracks[2], { position = 4, length = 2, file = "/media/bass.wav", selected = true })
    H.answer(f, { "", "2", "" })
    H.run("continue")
    finish_with(f, { { "cont.wav", bars_seconds(f, 2) } })
    local item = f.inserts[1].item
    assert.are.equal(6, item.position)
    assert.near(bars_seconds(f, 2), item.length, 1e-12)
    assert.is_false(item.loop)
  end)
end)
