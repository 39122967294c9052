-- A daemon on another machine (issue #23): host + client token settings, the token in the
-- background process's environment only, and --fetch into the project for every action.
local H = require("spec.helper")

local TOKEN = "Zk3v_9-QpTOKENxyz.~+/="

local function read(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local t = fh:read("a")
  fh:close()
  return t
end

local function write(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
end

-- Nothing the user can see holds the token: dialogs (titles, captions, defaults), message boxes,
-- the progress window, the command lines REAPER ran and the arguments of `dawgen send`.
local function assert_token_unseen(f)
  for _, d in ipairs(f.dialogs) do
    assert.is_nil(d.title:find(TOKEN, 1, true))
    assert.is_nil(d.defaults:find(TOKEN, 1, true), "a dialog shows the token")
  end
  for _, b in ipairs(f.boxes) do assert.is_nil(b.msg:find(TOKEN, 1, true), "a message shows the token") end
  for _, t in ipairs(f.gfx_texts) do assert.is_nil(t:find(TOKEN, 1, true)) end
  for _, e in ipairs(f.execs) do assert.is_nil(e.cmd:find(TOKEN, 1, true), "a command line holds the token") end
  for _, job in ipairs(H.client().jobs()) do
    for _, a in ipairs(job.spool.argv) do assert.is_nil(a:find(TOKEN, 1, true), "an argument holds the token") end
  end
end

describe("which daemon is this computer", function()
  it("is localhost, 127.0.0.0/8 and ::1 (as the daemon's is_loopback), nothing else", function()
    H.project()
    local N = require("dawgen.remote")
    for _, h in ipairs({ "127.0.0.1", "localhost", "LocalHost", "::1", "[::1]", "127.5.0.9", "::ffff:127.0.0.1",
                         "0:0:0:0:0:0:0:1", "" }) do
      assert.is_true(N.is_local(h), h)
    end
    for _, h in ipairs({ "192.168.1.20", "studio.local", "10.0.0.127", "128.0.0.1", "127.0.0.256", "::2", "gpu-box" }) do
      assert.is_false(N.is_local(h), h)
    end
  end)
end)

describe("requests to a daemon on another machine", function()
  local function with_item(f)
    local item = f:add_item(f.tracks[2], { position = 4, length = 2, file = H.wav("take.wav") })
    item.selected = true
  end

  it("Generate downloads into the project's subfolder; dir is the daemon's subfolder, daemon_root aside", function()
    local f = H.project()
    H.settings(f, { host = "192.168.1.20", token = TOKEN, daemon_root = "/elsewhere", subfolder = "gen" })
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    local sent = H.sent(H.job())
    assert.are.equal("/projects/song/gen", sent.flags.fetch)
    assert.are.equal("gen", sent.params.dir, "not refused for a project outside daemon_root")
    assert.are.equal("192.168.1.20", sent.flags.host)
    assert.is_true(sent.flags.wait)
    assert.are.same({ DAWGEN_TOKEN = TOKEN }, H.job().spool.argv.env)
    -- what comes back is the downloaded file: inserted like a local result
    local file = H.wav("gen-kick.wav")
    H.finish(H.job(), 0, file .. "\n", "queued job j1 (position 0)\n")
    f:step()
    assert.are.equal(file, f.inserts[1].file)
    assert_token_unseen(f)
  end)

  it("Vary, Continue, Separate and MIDI fetch too; the input is the local file (dawgen send uploads it)", function()
    for _, case in ipairs({ { "vary", { "", "1", "" } }, { "continue", { "", "2", "" } }, { "separate" },
                            { "midi", { "drums", "", "1", "" } } }) do
      local f = H.project()
      H.settings(f, { host = "gpu-box", token = TOKEN })
      with_item(f)
      if case[2] then H.answer(f, case[2]) end
      H.run(case[1])
      local sent = H.sent(H.job())
      assert.are.equal("/projects/song/dawgen", sent.flags.fetch, case[1])
      if case[1] ~= "midi" then assert.truthy(sent.params.input:find("take.wav", 1, true)) end
      assert_token_unseen(f)
    end
  end)

  it("a local daemon gets no --fetch (unless `fetch` says always); `never` keeps the daemon's paths", function()
    local f = H.project()
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    assert.is_nil(H.sent(H.job()).flags.fetch)
    assert.is_nil(H.job().spool.argv.env, "no token set: no environment")
    f = H.project()
    H.settings(f, { fetch = "always", token = TOKEN })
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    assert.are.equal("/projects/song/dawgen", H.sent(H.job()).flags.fetch)
    f = H.project()
    H.settings(f, { fetch = "never", host = "gpu-box" })
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    assert.is_nil(H.sent(H.job()).flags.fetch)
  end)

  it("Cancel and the model list carry the token too, without --fetch", function()
    local f = H.project()
    H.settings(f, { host = "gpu-box", token = TOKEN })
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    local job = H.job()
    H.progress(job, "queued job j1 (position 2)\n")
    f.gfx_chars = { 27 }
    f:step()
    assert.are.same({ DAWGEN_TOKEN = TOKEN }, job.cancel_spool.argv.env)
    assert.are.equal("cancel", job.cancel_spool.argv[3])
    for _, a in ipairs(job.cancel_spool.argv) do assert.are_not.equal("--fetch", a) end
    assert_token_unseen(f)
  end)

  it("Train is refused before anything is sent: its training set is a folder on this computer", function()
    local f = H.project()
    H.settings(f, { host = "gpu-box", datasets = H.scratch("sets") })
    os.execute("mkdir -p '" .. H.scratch("sets") .. "'")
    local root = H.scratch("sets2")
    os.execute("mkdir -p '" .. root .. "/kicks'")
    H.settings(f, { datasets = root })
    H.answer(f, { "kicks", "stable-audio-lora", "sao", "10", "", "" })
    local execs = #f.execs
    dofile(H.root .. "/dawgen - Train on a training set.lua")
    assert.are.equal(execs, #f.execs)
    assert.matches("Training reads the training set's folder on this computer", f.boxes[#f.boxes].msg)
  end)

  it("unauthorized says where the token comes from and where it goes, and shows no token", function()
    local f = H.project()
    H.settings(f, { host = "gpu-box", token = TOKEN })
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    H.finish(H.job(), 1, "", "dawgen send: unauthorized: a valid client token is needed\n")
    f:step()
    local msg = f.boxes[#f.boxes].msg
    assert.matches("dawgen token add NAME", msg)
    assert.matches("client token", msg)
    assert.matches("unauthorized: a valid client token is needed", msg)
    assert_token_unseen(f)
  end)

  it("no answer from a remote daemon does not tell you to start one on this computer", function()
    local f = H.project()
    H.settings(f, { host = "gpu-box" })
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    H.finish(H.job(), 3, "", "dawgen send: timeout: no reply from gpu-box:9950\n")
    f:step()
    local msg = f.boxes[#f.boxes].msg
    assert.matches("No dawgen daemon answered at gpu%-box:9950: is it running there", msg)
    assert.is_nil(msg:find("dawgen serve", 1, true))
  end)
end)

describe("the token in the background script", function()
  it("POSIX: set for the dawgen process only, and the script is gone once it has run", function()
    local f = H.project()
    local T = require("dawgen.transport")
    local argv = T.argv({ dawgen_path = "/x/dawgen", host = "h", port = "1", timeout = "5", token = TOKEN },
      { verb = "ping", params = {} }, nil, false)
    local script = T.posix_script(argv, T.paths("/d", "n", false))
    assert.truthy(script:find("  DAWGEN_TOKEN='" .. TOKEN .. "' PYTHONUNBUFFERED=1 '/x/dawgen' 'send' 'ping'", 1, true))
    local job = assert(T.launch(argv, "tok", false))
    assert.is_nil(read(job.paths.script), "the script that held the token is removed at once")
    assert_token_unseen(f)
  end)

  it("POSIX, a real shell: dawgen sees DAWGEN_TOKEN in its environment and not in its arguments", function()
    local f = H.project()
    local T = require("dawgen.transport")
    f.exec_handler = function(cmd)
      assert.is_true(os.execute(cmd))
      return "0\n"
    end
    local exe = H.scratch("env-args")
    write(exe, '#!/bin/sh\nprintf "env=%s\\n" "$DAWGEN_TOKEN"\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    os.execute("chmod +x '" .. exe .. "'")
    local argv = T.argv({ dawgen_path = exe, host = "gpu-box", port = "9950", timeout = "5", token = TOKEN },
      { verb = "generate", params = { { "prompt", "kick" } } }, "rpr-1", true, "/p/dawgen")
    local job = assert(T.launch(argv, "env-test", false))
    local deadline = os.time() + 20
    while not read(job.paths.rc) and os.time() < deadline do os.execute("sleep 0.05") end
    local out = read(job.paths.out)
    assert.truthy(out:find("env=" .. TOKEN .. "\n", 1, true))
    assert.is_nil(out:gsub("^env=[^\n]*\n", ""):find(TOKEN, 1, true))
    assert.truthy(out:find("--fetch\n/p/dawgen\n", 1, true))
    T.cleanup(job)
  end)

  it("Windows: a quoted set line before the command; the command line and arguments hold no token", function()
    local f = H.project({ os = "Win64" })
    H.settings(f, { host = "gpu-box", token = TOKEN })
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    local job = H.job()
    local bat = read(job.spool.paths.script)
    local set_at = bat:find('\r\nset "DAWGEN_TOKEN=' .. TOKEN .. '"\r\n', 1, true)
    assert.truthy(set_at)
    assert.truthy(set_at < bat:find('"send" "generate"', 1, true))
    assert.truthy(bat:find('"--fetch" "\\projects\\song\\dawgen"', 1, true) or bat:find('"--fetch" "/projects/song/dawgen"', 1, true))
    assert_token_unseen(f)
    H.finish(job, 0, H.wav("x.wav") .. "\n", "")
    f:step()
    assert.is_nil(read(job.spool.paths.script), "removed with the spool when the request is over")
  end)
end)

describe("Settings: host and client token", function()
  local function split(defaults, sep)
    local v = {}
    for x in (defaults .. sep):gmatch("(.-)" .. sep) do v[#v + 1] = x end
    return v
  end

  -- Page 1 with some fields replaced by key, page 2 as it is (the lists are still being fetched).
  local function settings(f, replace)
    local S = require("dawgen.settings")
    H.answer(f, function(_, defaults, sep)
      local v = split(defaults, sep)
      for i, key in ipairs(S.PAGES[1].keys) do
        if replace[key] ~= nil then v[i] = replace[key] end
      end
      return v
    end)
    H.answer(f, function(_, defaults, sep) return split(defaults, sep) end)
    H.run("settings")
    H.lan(f)
  end

  it("the token field hides what is typed, never shows the stored token, keeps it when left empty", function()
    local f = H.project()
    settings(f, { host = "gpu-box", token = TOKEN })
    assert.are.equal(TOKEN, f:get_ext("dawgen", "token"))
    assert.are.equal("gpu-box", f:get_ext("dawgen", "host"))
    local caption = f.dialogs[1].captions[4]
    assert.are.equal("*", caption:sub(1, 1), "a leading * asks GetUserInputs to hide the field")
    assert.matches("client token", caption)
    H.forget()
    settings(f, { port = "9951" }) -- opened again: the token field starts empty and stays so
    assert.are.equal("", split(f.dialogs[3].defaults, "\n")[4])
    assert.are.equal(TOKEN, f:get_ext("dawgen", "token"), "kept")
    assert.are.equal("9951", f:get_ext("dawgen", "port"))
    settings(f, { token = "-" })
    assert.are.equal("", f:get_ext("dawgen", "token"), "- removes it")
    assert_token_unseen(f)
  end)

  it("a token that is not one is refused without repeating it", function()
    local f = H.project()
    local S = require("dawgen.settings")
    local bad = "secret with spaces%"
    local ok, err = S.save({ token = bad })
    assert.is_nil(ok)
    assert.matches("client token: not valid; expected a token as `dawgen token add` prints it", err)
    assert.is_nil(err:find("secret", 1, true))
    f:set_ext("dawgen", "token", "bad token")
    assert.are.equal("", S.load().token, "a stored bad value falls back to none")
    assert.are.equal("auto", S.load().fetch)
    assert.is_nil(S.save({ fetch = "sometimes" }))
  end)
end)
