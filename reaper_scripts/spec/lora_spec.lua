-- LoRA adapters (issue #17): the `lora` string built from the settings, the adapters read from the
-- /dawgen/models reply, the Settings page that picks them, and the requests that carry them.
local H = require("spec.helper")

local CATALOGUE = [[
[
  {"name": "synth", "backend": "synth", "default": true, "verbs": {"generate": [{"name": "prompt"}]}},
  {"name": "sao", "backend": "stable-audio", "verbs": {"generate": [{"name": "lora"}]},
   "loras": [
     {"name": "my-kicks", "base": "sao", "trigger": "kck style", "rank": 16, "size": 2500000},
     {"name": "friend-jam", "base": "sao", "trigger": "", "rank": 8, "size": 1200000, "extra": null}
   ]},
  {"name": "dd", "backend": "stable-audio", "default": false, "loras": [], "unavailable": "weights missing \u00e9\ud83c\udfb9"}
]
]]

local function split(defaults, sep)
  local v = {}
  for x in (defaults .. sep):gmatch("(.-)" .. sep) do v[#v + 1] = x end
  return v
end

-- Answer a settings page: its current values with some fields replaced (by position).
local function page(f, replace)
  H.answer(f, function(_, defaults, sep)
    local v = split(defaults, sep)
    for i, x in pairs(replace or {}) do v[i] = x end
    return v
  end)
end

describe("lora string", function()
  local function lora(values)
    H.project()
    local settings = { lora_1 = "", lora_1_strength = "1", lora_2 = "", lora_2_strength = "1" }
    for k, v in pairs(values) do settings[k] = v end
    return H.client().lora_param(settings)
  end

  it("is empty without adapters and name:strength joined by commas with them", function()
    assert.are.equal("", lora({}))
    assert.are.equal("my-kicks:1", lora({ lora_1 = "my-kicks" }))
    assert.are.equal("my-kicks:0.8,friend-jam:-0.5",
      lora({ lora_1 = " my-kicks ", lora_1_strength = "0.80", lora_2 = "friend-jam", lora_2_strength = "-.5" }))
    assert.are.equal("friend-jam:2", lora({ lora_2 = "friend-jam", lora_2_strength = "2" }))
    assert.are.equal("a:1", lora({ lora_1 = "a", lora_1_strength = "" }), "empty strength = 1")
    assert.are.equal("a:0.25", lora({ lora_1 = "a", lora_1_strength = "0.25", lora_2 = "a", lora_2_strength = "2" }),
      "the same adapter twice goes once")
  end)

  it("refuses a strength outside -2..2 with a message that says what to do", function()
    local value, err = lora({ lora_2 = "friend-jam", lora_2_strength = "3" })
    assert.is_nil(value)
    assert.matches("strength of adapter 2 %(friend%-jam%) must be a number from %-2 to 2, not \"3\"", err)
    assert.matches("dawgen %- Settings", err)
    assert.is_nil(lora({ lora_1 = "a", lora_1_strength = "loud" }))
  end)

  it("settings refuse bad strengths and names; a stored bad strength falls back to 1", function()
    local f = H.project()
    local S = require("dawgen.settings")
    local ok, err = S.save({ lora_1_strength = "2.5" })
    assert.is_nil(ok)
    assert.matches("adapter 1 strength %(%-2 to 2%): \"2.5\" is not valid; expected a number from %-2 to 2", err)
    assert.is_nil(S.save({ lora_2 = "a:b" }))
    assert.is_nil(S.save({ lora_2 = "a,b" }))
    assert.truthy(S.save({ lora_1 = "my-kicks", lora_1_strength = "-2" }))
    f:set_ext("dawgen", "lora_2_strength", "9")
    assert.are.equal("1", S.load().lora_2_strength)
    assert.are.equal("-2", S.load().lora_1_strength)
  end)
end)

describe("the models reply's adapters", function()
  local parse
  before_each(function()
    H.project()
    parse = H.client().parse_loras
  end)

  it("lists a named model's adapters with base, trigger, rank and size", function()
    local loras, model = parse(CATALOGUE, "sao")
    assert.are.equal("sao", model)
    assert.are.same({
      { name = "my-kicks", base = "sao", trigger = "kck style", rank = 16, size = 2500000 },
      { name = "friend-jam", base = "sao", trigger = "", rank = 8, size = 1200000 },
    }, loras)
    local text = H.client().describe_loras(loras)
    assert.matches("1%. my%-kicks %(base sao, rank 16, 2%.5 MB%); trigger word: kck style", text)
    assert.matches("2%. friend%-jam %(base sao, rank 8, 1%.2 MB%)$", text)
  end)

  it("takes the default model for an empty name; no or empty `loras` is no adapters", function()
    local loras, model = parse(CATALOGUE, "")
    assert.are.same({}, loras)
    assert.are.equal("synth", model)
    assert.are.same({}, (parse(CATALOGUE, "dd")))
    assert.are.same({ { name = "x", base = "", trigger = "", rank = nil, size = nil } },
      (parse('{"name": "one", "loras": [{"name": "x"}, {"base": "no name"}, "y"]}', "one")), "one entry (model=NAME)")
  end)

  it("says why when the model is not there or the reply is not JSON", function()
    local loras, why = parse(CATALOGUE, "nope")
    assert.is_nil(loras)
    assert.matches("no model named nope", why)
    assert.matches("no default model", select(2, parse('[{"name": "a"}]', "")))
    assert.matches("could not be read %(JSON error at character", select(2, parse("[{\"name\": ", "a")))
    assert.matches("could not be read", select(2, parse("Traceback (most recent call last):", "a")))
    assert.matches("text after the value", select(2, parse("[] []", "a")))
  end)

  it("reads JSON escapes and numbers", function()
    local J = require("dawgen.json")
    local v = J.decode('{"s": "a\\"b\\\\c\\n\\u00e9\\ud83c\\udfb9", "n": [-1.5e2, 0, 3], "t": true, "f": false, "z": null}')
    assert.are.equal('a"b\\c\né🎹', v.s)
    assert.are.same({ -150, 0, 3 }, v.n)
    assert.is_true(v.t)
    assert.is_false(v.f)
    assert.are.equal(J.null, v.z)
  end)
end)

describe("requests with adapters", function()
  local function run(name, settings, answers, f)
    f = f or H.project()
    H.settings(f, settings)
    for _, a in ipairs(answers) do H.answer(f, a) end
    H.run(name)
    return f
  end

  it("Generate sends lora right after model", function()
    run("generate", { model_generate = "sao", lora_1 = "my-kicks", lora_1_strength = "0.8", lora_2 = "friend-jam",
      lora_2_strength = "0.5" }, { { "kick", "1", "" } })
    local sent = H.sent(H.job())
    assert.are.equal("my-kicks:0.8,friend-jam:0.5", sent.params.lora)
    assert.are.same({ "prompt", "bpm", "bars", "seconds", "count", "model", "lora", "sample_rate", "dir" }, sent.order)
  end)

  it("without a model setting lora goes before the output parameters; without adapters there is none", function()
    run("generate", { lora_2 = "friend-jam" }, { { "kick", "1", "" } })
    assert.are.same({ "prompt", "bpm", "bars", "seconds", "count", "lora", "sample_rate", "dir" }, H.sent(H.job()).order)
    H.forget()
    run("generate", {}, { { "kick", "1", "" } })
    assert.is_nil(H.sent(H.job()).params.lora)
  end)

  it("Vary and Continue send it; MIDI and Separate (no adapters for them) do not", function()
    local function with_item()
      local f = H.project()
      local file = H.wav("take.wav")
      local item = f:add_item(f.tracks[2], { position = 4, length = 2, file = file })
      item.selected = true
      return f
    end
    local adapters = { lora_1 = "my-kicks", lora_1_strength = "1.5" }
    run("vary", adapters, { { "", "1", "" } }, with_item())
    assert.are.equal("my-kicks:1.5", H.sent(H.job()).params.lora)
    run("continue", adapters, { { "", "2", "" } }, with_item())
    assert.are.equal("my-kicks:1.5", H.sent(H.job()).params.lora)
    run("separate", adapters, {}, with_item())
    assert.is_nil(H.sent(H.job()).params.lora)
    run("midi", adapters, { { "drums", "", "1", "" } })
    assert.is_nil(H.sent(H.job()).params.lora)
  end)

  it("a strength that slipped past Settings stops the action before anything is sent", function()
    local f = H.project()
    H.answer(f, { "kick", "1", "" })
    H.run("generate")
    local client = H.client()
    -- a settings table from elsewhere (S.load would have fallen back to 1)
    local job = client.start("Generate", { verb = "generate", params = {} }, {}, { lora_1 = "a", lora_1_strength = "5",
      dawgen_path = H.dawgen_stub, host = "h", port = "1", timeout = "1" }, { windows = false, project_path = "/p" })
    assert.is_nil(job)
    assert.matches("must be a number from %-2 to 2, not \"5\"", f.boxes[#f.boxes].msg)
    assert.are.equal(1, #f.execs)
  end)

  it("an unknown adapter error names the adapters sent and where to change them", function()
    local f = run("generate", { model_generate = "sao", lora_1 = "gone" }, { { "kick", "1", "" } })
    H.finish(H.job(), 1, "", "queued job j1 (position 0)\ndawgen send: unknown_model: no LoRA adapter named gone for sao\n")
    f:step()
    local msg = f.boxes[#f.boxes].msg
    assert.matches("named the LoRA adapters gone:1%. Check the adapters in dawgen %- Settings", msg)
    assert.matches("unknown_model: no LoRA adapter named gone", msg)
  end)
end)

describe("Settings: the adapters page", function()
  -- Pages 1 and 2 as they are (model for Generate = sao), then the model list is fetched.
  local function open_settings(model)
    local f = H.project()
    page(f)
    page(f, { [5] = model or "sao" })
    H.run("settings")
    H.lan(f)
    local fetch = H.client().lora.models_fetch
    assert.truthy(fetch, "the model list is being fetched")
    return f, fetch
  end

  local function reply(f, fetch, rc, out, err)
    H.finish({ spool = fetch }, rc, out, err)
    f:step()
  end

  it("fetches the full list over TCP in the background, lists the model's adapters, stores the picks", function()
    local f, fetch = open_settings()
    assert.are.same({ H.dawgen_stub, "send", "models", "--host", "127.0.0.1", "--port", "9950", "--timeout", "600", "--tcp" },
      fetch.argv)
    assert.matches('^/bin/sh ".*%.models%.sh"$', f.execs[#f.execs].cmd)
    assert.are.equal(2, #f.dialogs, "no adapters dialog before the list is there")
    f:step()
    assert.are.equal(2, #f.deferred, "still waiting (the model list and, beside it, the catalog)")
    page(f, { "2", "0.5", "my-kicks", "-1" })
    reply(f, fetch, 0, CATALOGUE)
    assert.matches("LoRA adapters of sao", f.boxes[1].msg)
    assert.matches("1%. my%-kicks", f.boxes[1].msg)
    assert.matches("2%. friend%-jam", f.boxes[1].msg)
    assert.are.equal("dawgen settings: LoRA adapters of sao", f.dialogs[3].title)
    assert.are.equal("friend-jam", f:get_ext("dawgen", "lora_1"))
    assert.are.equal("0.5", f:get_ext("dawgen", "lora_1_strength"))
    assert.are.equal("my-kicks", f:get_ext("dawgen", "lora_2"))
    assert.are.equal("-1", f:get_ext("dawgen", "lora_2_strength"))
    assert.is_nil(io.open(fetch.paths.out), "spool cleaned up")
    assert.are.equal(1, #f.boxes)
  end)

  it("asks again for a strength out of range or a name the model does not list", function()
    local f, fetch = open_settings()
    page(f, { "my-kicks", "3" })
    page(f, { "my-kick", "1" })
    page(f, { "9", "1" })
    page(f, { "1", "-2", "", "" })
    reply(f, fetch, 0, CATALOGUE)
    assert.matches("adapter 1 strength %(%-2 to 2%): \"3\" is not valid; expected a number from %-2 to 2", f.boxes[2].msg)
    assert.matches("Adapter 1: \"my%-kick\" is not one of sao's adapters %(my%-kicks, friend%-jam%)", f.boxes[3].msg)
    assert.matches("Adapter 1: \"9\" is not one of sao's adapters", f.boxes[4].msg)
    assert.are.equal("my-kicks", f:get_ext("dawgen", "lora_1"))
    assert.are.equal("-2", f:get_ext("dawgen", "lora_1_strength"))
    assert.are.equal("", f:get_ext("dawgen", "lora_2"))
    assert.are.equal("1", f:get_ext("dawgen", "lora_2_strength"), "an empty strength is 1")
  end)

  it("a model without adapters: says so and only accepts empty fields", function()
    local f, fetch = open_settings("dd")
    page(f, { "x" })
    page(f, { "" })
    reply(f, fetch, 0, CATALOGUE)
    assert.matches("dd %(the model for Generate%) lists no LoRA adapters", f.boxes[1].msg)
    assert.matches("\"x\" is not one of dd's adapters %(it lists none%)", f.boxes[2].msg)
    assert.are.equal("", f:get_ext("dawgen", "lora_1"))
  end)

  it("no daemon: says why and still takes typed names", function()
    local f, fetch = open_settings()
    page(f, { "typed-name", "0.7" })
    reply(f, fetch, 3, "", "dawgen send: timeout: no reply from 127.0.0.1:9950\n")
    assert.matches("could not be fetched: no dawgen daemon answered at 127%.0%.0%.1:9950", f.boxes[1].msg)
    assert.are.equal("typed-name", f:get_ext("dawgen", "lora_1"))
    assert.are.equal("0.7", f:get_ext("dawgen", "lora_1_strength"))
  end)

  it("a model the daemon does not have, an error reply, or no answer in time: the reason is shown", function()
    local f, fetch = open_settings("nope")
    H.answer(f, false)
    reply(f, fetch, 0, CATALOGUE)
    assert.matches("could not be fetched: the daemon has no model named nope", f.boxes[1].msg)
    f, fetch = open_settings()
    H.answer(f, false)
    reply(f, fetch, 1, "", "dawgen send: internal: boom\n")
    assert.matches("could not be fetched: internal: boom", f.boxes[1].msg)
    f, fetch = open_settings()
    f.box_answers = { 2 } -- Cancel on the message: no adapters dialog
    f:step()
    f.clock = f.clock + 21
    f:step()
    assert.matches("no model list within 20 s", f.boxes[1].msg)
    assert.are.equal(2, #f.dialogs)
    assert.are.equal(0, #f.deferred)
  end)
end)
