-- Models you can get (issue #20): the catalog in Settings, and "dawgen - Get a model" pulling one
-- as a daemon job with its progress, the gated-licence message, and the model lists after it.
local H = require("spec.helper")

-- As `dawgen send catalog` prints the /dawgen/catalog reply: address, request id, JSON.
local CATALOG = '/dawgen/catalog 487aebc55b1c [' ..
  '{"name":"htdemucs","backend":"demucs","installed":true,"repo":"https://dl.fbaipublicfiles.com/demucs/","revision":"main",' ..
  '"description":"HTDemucs: stems","download_gb":0.08,"memory_gb":1.0,"bytes":null,"needs":[],"licence":"MIT",' ..
  '"licence_url":"https://opensource.org/licenses/MIT","gated":false,"page":"https://github.com/facebookresearch/demucs"},' ..
  '{"name":"stable-audio-open-small","backend":"stable-audio","installed":false,"repo":"stabilityai/stable-audio-open-small",' ..
  '"revision":"main","description":"SAO small","download_gb":1.4,"memory_gb":4.0,"bytes":null,"needs":["t5-base"],' ..
  '"licence":"Stability AI Community License","licence_url":"https://stability.ai/license","gated":true,' ..
  '"page":"https://huggingface.co/stabilityai/stable-audio-open-small"},' ..
  '{"name":"t5-base","backend":null,"installed":false,"repo":"google-t5/t5-base","revision":"main","description":"T5",' ..
  '"download_gb":0.9,"memory_gb":0,"bytes":null,"needs":[],"licence":"Apache-2.0",' ..
  '"licence_url":"https://www.apache.org/licenses/LICENSE-2.0","gated":false,"page":"https://huggingface.co/google-t5/t5-base"}' ..
  ']\n'

local MODELS = [[
[{"name": "synth", "default": true, "verbs": {"generate": []}},
 {"name": "htdemucs", "verbs": {"separate": []}},
 {"name": "stable-audio-open-small", "verbs": {"generate": [], "vary": [], "continue": []}}]
]]

local function reply(f, spool, rc, out, err)
  H.finish({ spool = spool }, rc, out, err)
  f:step()
end

describe("the catalog", function()
  it("reads the daemon's reply and `dawgen pull --list --json`, and lists it with what matters", function()
    H.project()
    local C = H.client().catalog
    local rows = assert(C.parse(CATALOG))
    assert.are.equal(3, #rows)
    assert.are.same({ "t5-base" }, rows[2].needs)
    assert.is_true(rows[1].installed)
    assert.is_true(rows[2].gated)
    assert.are.equal("", rows[3].backend)
    local again = assert(C.parse(CATALOG:gsub("^/dawgen/catalog %S+ ", "")))
    assert.are.same(rows, again)
    local text = C.describe(rows)
    assert.matches("1%. htdemucs %[installed%] %(~0%.08 GB; 1 GB memory; MIT%)", text)
    assert.matches("2%. stable%-audio%-open%-small %(~1%.4 GB; 4 GB memory; Stability AI Community License, gated; needs t5%-base%)", text)
    assert.matches("3%. t5%-base %(~0%.9 GB; Apache%-2%.0; a dependency%)", text)
    assert.are.equal("t5-base", C.find(rows, "3").name)
    assert.are.equal("htdemucs", C.find(rows, " htdemucs ").name)
    assert.is_nil(C.find(rows, "9"))
    assert.matches("could not be read", select(2, C.parse("dawgen send: timeout")))
  end)
end)

describe("dawgen - Get a model", function()
  local function open(f)
    H.run("get_model")
    local fetch = H.client().catalog.pending
    assert.truthy(fetch, "the catalog is being fetched in the background")
    return fetch
  end

  it("lists the catalog, pulls the pick as a daemon job with progress, then offers it for its actions", function()
    local f = H.project()
    local fetch = open(f)
    assert.are.same({ H.dawgen_stub, "send", "catalog", "--host", "127.0.0.1", "--port", "9950", "--timeout", "600", "--tcp" },
      fetch.argv)
    H.answer(f, { "1" })
    f.box_answers = { 1, 6 } -- OK on the list; Yes: get the installed htdemucs again
    reply(f, fetch, 0, CATALOG)
    assert.matches("Models you can get %(from the daemon at 127%.0%.0%.1:9950%)", f.boxes[1].msg)
    assert.matches("1%. htdemucs %[installed%]", f.boxes[1].msg)
    assert.matches("htdemucs is installed already", f.boxes[2].msg)
    local job = H.job()
    local sent = H.sent(job)
    assert.are.equal("pull", sent.verb)
    assert.are.same({ "name" }, sent.order)
    assert.are.equal("htdemucs", sent.params.name)
    assert.are.equal("86400", sent.flags.timeout, "a download outlasts the request timeout")
    assert.is_true(sent.flags.wait)
    assert.is_nil(sent.flags.fetch)
    assert.are.equal("htdemucs", f:get_ext("dawgen", "last_pull_model"))
    H.progress(job, "queued job p1 (position 0)\n   42.0% htdemucs/955717e8-8726e21a.th, ~3.0s left\n")
    f:step()
    assert.are.equal("htdemucs/955717e8-8726e21a.th 42%, ~3 s left", job.window.text)
    H.finish(job, 0, "/models/htdemucs\n", "")
    f:step()
    assert.are.equal(0, #f.inserts, "a model folder is not inserted")
    local models = H.client().lora.models_fetch
    assert.truthy(models, "the daemon's model list is read again")
    f.box_answers = { 6 }
    reply(f, models, 0, MODELS)
    assert.matches("htdemucs is ready %(/models/htdemucs%) and in the daemon's model list", f.boxes[#f.boxes].msg)
    assert.matches("Use it as the model for Separate", f.boxes[#f.boxes].msg)
    assert.are.equal("htdemucs", f:get_ext("dawgen", "model_separate"))
    assert.is_nil(f:get_ext("dawgen", "model_generate"))
  end)

  it("a model for several actions is offered for each; a dependency is just ready", function()
    local f = H.project()
    local fetch = open(f)
    H.answer(f, { "stable-audio-open-small" })
    reply(f, fetch, 0, CATALOG) -- OK on the list and on the gated notice (the fake answers 1)
    H.finish(H.job(), 0, "/models/stable-audio-open-small\n", "")
    f:step()
    f.box_answers = { 6 }
    reply(f, H.client().lora.models_fetch, 0, MODELS)
    assert.matches("for Generate, Vary, Continue", f.boxes[#f.boxes].msg)
    for _, key in ipairs({ "model_generate", "model_vary", "model_continue" }) do
      assert.are.equal("stable-audio-open-small", f:get_ext("dawgen", key))
    end
    f = H.project()
    fetch = open(f)
    H.answer(f, { "t5-base" })
    reply(f, fetch, 0, CATALOG)
    H.finish(H.job(), 0, "/models/t5-base\n", "")
    f:step()
    reply(f, H.client().lora.models_fetch, 0, '[{"name": "t5-base", "verbs": {}}]')
    assert.matches("t5%-base is ready %(/models/t5%-base%)%. The models that need it", f.boxes[#f.boxes].msg)
  end)

  it("a gated model: the licence page and `dawgen login` before, and again when the daemon refuses", function()
    local f = H.project()
    local fetch = open(f)
    H.answer(f, { "2" })
    reply(f, fetch, 0, CATALOG)
    local notice = f.boxes[2].msg
    assert.matches("stable%-audio%-open%-small is gated %(Stability AI Community License%)", notice)
    assert.matches("open https://huggingface%.co/stabilityai/stable%-audio%-open%-small", notice)
    assert.matches("`dawgen login`", notice)
    assert.matches("HF_TOKEN", notice)
    H.finish(H.job(), 1, "", "dawgen send: model_unavailable: stable-audio-open-small is gated (Stability AI "
      .. "Community License): open https://huggingface.co/stabilityai/stable-audio-open-small, log in and accept\n")
    f:step()
    local msg = f.boxes[#f.boxes].msg
    assert.matches("Get stable%-audio%-open%-small failed", msg)
    assert.matches("accept the licence with the account whose token the daemon uses", msg)
    assert.matches("On the daemon's machine, give dawgen that token once: run `dawgen login`", msg)
    assert.matches("model_unavailable: ", msg)
  end)

  it("cancelling the gated notice sends nothing; a name not in the catalog is asked again", function()
    local f = H.project()
    local fetch = open(f)
    H.answer(f, { "stable-audio-open-big" })
    H.answer(f, { "2" })
    f.box_answers = { 1, 1, 2 } -- the list, the "not in the catalog" message, then Cancel on the gated notice
    reply(f, fetch, 0, CATALOG)
    assert.matches('"stable%-audio%-open%-big" is not in the catalog', f.boxes[2].msg)
    assert.are.equal(0, #H.client().jobs())
    assert.are.equal(1, #f.execs, "only the catalog fetch ran")
  end)

  it("no daemon on this computer: the catalog comes from `dawgen pull --list --json`", function()
    local f = H.project()
    local fetch = open(f)
    reply(f, fetch, 3, "", "dawgen send: timeout: no reply from 127.0.0.1:9950\n")
    local again = H.client().catalog.pending
    assert.are.same({ H.dawgen_stub, "pull", "--list", "--json" }, again.argv)
    H.answer(f, false)
    reply(f, again, 0, CATALOG:gsub("^/dawgen/catalog %S+ ", ""))
    assert.matches("from this computer's dawgen %(no daemon is running%)", f.boxes[1].msg)
    assert.matches("3%. t5%-base", f.boxes[1].msg)
  end)

  it("no catalog at all: says why and still takes a typed name", function()
    local f = H.project()
    local fetch = open(f)
    H.answer(f, { "my-model" })
    reply(f, fetch, 1, "", "dawgen send: unknown_verb: no model does catalog\n")
    assert.matches("The catalog could not be fetched: unknown_verb: no model does catalog", f.boxes[1].msg)
    assert.are.equal("my-model", H.sent(H.job()).params.name)
  end)

  it("a daemon on another machine: the pull goes there, with the token and without --fetch", function()
    local f = H.project()
    H.settings(f, { host = "gpu-box", token = "tok-123" })
    local fetch = open(f)
    assert.are.same({ DAWGEN_TOKEN = "tok-123" }, fetch.argv.env)
    H.answer(f, { "t5-base" })
    reply(f, fetch, 0, CATALOG)
    local job = H.job()
    assert.are.equal("gpu-box", H.sent(job).flags.host)
    assert.is_nil(H.sent(job).flags.fetch, "the model stays on the daemon's machine")
    assert.are.same({ DAWGEN_TOKEN = "tok-123" }, job.spool.argv.env)
  end)
end)

describe("Settings shows the catalog", function()
  it("after the adapters page, from the daemon, fetched beside the model list", function()
    local f = H.project()
    local function as_is(_, defaults)
      local v = {}
      for x in (defaults .. "\n"):gmatch("(.-)\n") do v[#v + 1] = x end
      return v
    end
    H.answer(f, as_is) -- page 1
    H.answer(f, as_is) -- page 2
    H.run("settings")
    H.lan(f)
    local catalog, models = H.client().catalog.pending, H.client().lora.models_fetch
    assert.are.equal("catalog", catalog.argv[3])
    reply(f, catalog, 0, CATALOG)
    assert.are.equal(0, #f.boxes, "nothing shown before the adapters page")
    H.answer(f, false) -- the adapters page
    reply(f, models, 0, MODELS)
    assert.matches("synth %(the model for Generate%) lists no LoRA adapters", f.boxes[1].msg)
    assert.matches("Models you can get %(from the daemon at 127%.0%.0%.1:9950%)", f.boxes[2].msg)
    assert.matches("2%. stable%-audio%-open%-small %(.*gated", f.boxes[2].msg)
    assert.matches("dawgen %- Get a model", f.boxes[2].msg)
  end)
end)
