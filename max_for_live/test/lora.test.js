// LoRA adapters (issue #17): the two adapter menus filled from the chosen model's `loras`, the two
// strength dials, and the `lora` parameter the request builder adds.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const { connected, loadDevice, LiveSet, params, pairs, COMMON, SYNTH_GENERATE } = require("./helpers");
const { readAmxd } = require("../amxd");
const build = require("../build");

const SAO_PARAMS = [...COMMON, "prompt", "seconds", "seed", "count", "steps", "lora"];
const lora = (name, base = "sao") => ({ name, base, trigger: `${name} style`, rank: 16, size: 1234567 });
// synth (default, no adapters), sao with two adapters, dd that takes adapters but has none yet.
const CATALOGUE = [
  { name: "synth", backend: "synth", default: true, verbs: { generate: params(SYNTH_GENERATE) } },
  { name: "sao", backend: "stable-audio", loras: [lora("my-kicks"), lora("friend-jam")],
    verbs: { generate: params(SAO_PARAMS), vary: params([...COMMON, "input", "prompt", "strength", "seed", "count", "lora"]) } },
  { name: "dd", backend: "stable-audio", loras: [], verbs: { generate: params(SAO_PARAMS) } },
];
const MENU = { synth: 1, sao: 2, dd: 3 }; // model menu: default, synth, sao, dd

// What an adapter menu shows now: its items since the last clear, and the selected index.
function menu(d, name) {
  const lines = d.ui(name);
  const start = lines.map((l) => l[0]).lastIndexOf("clear");
  const rest = lines.slice(start + 1);
  return { items: rest.filter((l) => l[0] === "append").map((l) => l.slice(1).join(" ")),
    selected: rest.filter((l) => l[0] === "set").map((l) => l[1]).pop() };
}

function generate(d) {
  const before = d.requests().length;
  d.send("generate", 1);
  const sent = d.requests().slice(before);
  assert.equal(sent.length, 1, `one request expected, status: ${d.shown("status")}`);
  return sent[0];
}

const loraOf = (req) => (pairs(req).find((p) => p[0] === "lora") || [])[1];

test("the adapter menus list the chosen model's adapters after \"none\", and follow the model menu", () => {
  const d = connected({}, { catalogue: CATALOGUE });
  for (const name of ["lora1", "lora2"]) {
    assert.deepEqual(menu(d, name), { items: ["none (no adapters)"], selected: 0 }, "the default synth has none");
  }
  d.send("model", MENU.sao);
  for (const name of ["lora1", "lora2"]) {
    assert.deepEqual(menu(d, name), { items: ["none", "my-kicks", "friend-jam"], selected: 0 });
  }
  d.send("lora1", 2);
  d.send("lora2", 1);
  d.send("model", MENU.dd);
  assert.deepEqual(menu(d, "lora1"), { items: ["none (no adapters)"], selected: 0 });
  assert.match(d.record.posts.join("\n"), /adapter 1 "friend-jam" is not one dd lists/);
  d.send("model", MENU.sao);
  assert.deepEqual(menu(d, "lora1"), { items: ["none", "my-kicks", "friend-jam"], selected: 2 }, "the pick comes back");
  assert.deepEqual(menu(d, "lora2"), { items: ["none", "my-kicks", "friend-jam"], selected: 1 });
});

test("a new model list refreshes the menus (reconnect after the daemon got new adapters)", () => {
  const d = connected({}, { catalogue: CATALOGUE });
  d.send("model", MENU.sao);
  d.send("lora1", 1);
  d.send("refresh", 1);
  d.osc("/dawgen/pong", d.lastRequest()[1], "0.1.0");
  const grown = JSON.parse(JSON.stringify(CATALOGUE));
  grown[1].loras.push(lora("new-one"));
  d.osc("/dawgen/models", d.lastRequest()[1], JSON.stringify(grown));
  assert.deepEqual(menu(d, "lora1"), { items: ["none", "my-kicks", "friend-jam", "new-one"], selected: 1 });
});

test("a model whose entry has no `loras` (older daemon) gets an empty adapter menu and no lora", () => {
  const old = [{ name: "sao", default: true, verbs: { generate: params(SAO_PARAMS) } }];
  const d = connected({}, { catalogue: old });
  assert.deepEqual(menu(d, "lora1"), { items: ["none (no adapters)"], selected: 0 });
  d.send("lora1", 1); // no such item: ignored
  assert.equal(loraOf(generate(d)), undefined);
});

test("lora= goes with the request only when an adapter is picked, with each dial's strength", () => {
  const d = connected({ tempo: 120 }, { catalogue: CATALOGUE });
  d.send("model", MENU.sao);
  d.send("seed", 3);
  let req = generate(d);
  assert.equal(loraOf(req), undefined, "nothing picked: no lora");
  d.send("lora1", 1);
  req = generate(d);
  assert.deepEqual(pairs(req).slice(-3), [["model", "sao"], ["lora", "my-kicks:1"], ["reply_port", req[req.length - 1]]],
    "default strength 1, after model");
  d.send("lora1strength", 0.8);
  d.send("lora2", 2);
  d.send("lora2strength", -0.5);
  assert.equal(loraOf(generate(d)), "my-kicks:0.8,friend-jam:-0.5");
  d.send("lora1", 0); // back to none: only the second one
  assert.equal(loraOf(generate(d)), "friend-jam:-0.5");
  d.send("lora2strength", 7); // a dial cannot go past its range, and neither can a message
  assert.equal(loraOf(generate(d)), "friend-jam:2");
  d.send("lora2strength", 0.123456);
  assert.equal(loraOf(generate(d)), "friend-jam:0.123");
});

test("the same adapter picked twice is sent once, with the first dial's strength", () => {
  const d = connected({}, { catalogue: CATALOGUE });
  d.send("model", MENU.sao);
  d.send("lora1", 1);
  d.send("lora2", 1);
  d.send("lora1strength", 0.5);
  d.send("lora2strength", 1.5);
  assert.equal(loraOf(generate(d)), "my-kicks:0.5");
});

test("a picked adapter no longer in the model's list is dropped; one still listed is kept", () => {
  const d = connected({}, { catalogue: CATALOGUE });
  d.send("model", MENU.sao);
  d.send("lora1", 1);
  d.send("lora2", 2);
  d.send("refresh", 1);
  d.osc("/dawgen/pong", d.lastRequest()[1], "0.1.0");
  const shrunk = JSON.parse(JSON.stringify(CATALOGUE));
  shrunk[1].loras = [lora("friend-jam")]; // my-kicks was deleted from the daemon
  d.osc("/dawgen/models", d.lastRequest()[1], JSON.stringify(shrunk));
  assert.deepEqual(menu(d, "lora1"), { items: ["none", "friend-jam"], selected: 0 });
  assert.deepEqual(menu(d, "lora2"), { items: ["none", "friend-jam"], selected: 1 });
  assert.equal(loraOf(generate(d)), "friend-jam:1");
});

test("modes whose verb the model does not declare `lora` for send none; vary does", () => {
  const d = connected({ tracks: [{ name: "A", kind: "audio", slots: [{ audio: true, file_path: "/a.wav", name: "a" }, null] }],
    detail: { track: 0, slot: 0 }, highlighted: { track: 0, slot: 0 } }, { catalogue: CATALOGUE });
  d.send("model", MENU.sao);
  d.send("lora1", 1);
  d.send("mode", 3); // vary: declared
  assert.equal(loraOf(generate(d)), "my-kicks:1");
  d.send("mode", 4); // stems: sao does not separate, nothing is declared for it: no lora either
  assert.equal(loraOf(generate(d)), undefined);
  d.send("model", MENU.synth); // synth does not take adapters: the pick stays but is not sent
  d.send("mode", 0);
  assert.equal(loraOf(generate(d)), undefined);
});

test("the picks are saved with the Set (with the model), the dials as Live parameters", () => {
  const d = connected({}, { catalogue: CATALOGUE });
  d.send("model", MENU.sao);
  d.send("lora2", 2);
  const stored = d.ui("store").pop()[0];
  assert.deepEqual(JSON.parse(decodeURIComponent(stored)), { prompt: "", folder: "", host: "127.0.0.1", model: "sao",
    lora1: "", lora2: "friend-jam", dataset: "", trainBase: "", token: "", project: "", dawgenPath: "" });
  // A new instance (the Set reopened): the pattr restores before the daemon answers.
  const e = loadDevice(new LiveSet());
  e.send("restore", stored);
  e.send("init");
  assert.ok(e.record.ui.some((l) => l[0] === "lora1strength" && l[1] === "bang"), "init asks the dials for their values");
  e.send("lora2strength", 0.25); // the dial answers with its saved value
  e.osc("/dawgen/pong", e.lastRequest()[1], "0.1.0");
  e.osc("/dawgen/models", e.lastRequest()[1], JSON.stringify(CATALOGUE));
  assert.deepEqual(menu(e, "lora2"), { items: ["none", "my-kicks", "friend-jam"], selected: 2 });
  assert.equal(loraOf(generate(e)), "friend-jam:0.25");
});

test("DG.loraParam and DG.loraNames on their own", () => {
  const { DG } = loadDevice(new LiveSet()).context;
  assert.equal(DG.loraParam([{ name: "", strength: 1 }, { name: " ", strength: 1 }], ["a"]), "");
  assert.equal(DG.loraParam([{ name: "a", strength: "x" }, { name: "b", strength: -3 }], ["a", "b"]), "a:1,b:-2");
  assert.equal(DG.loraParam([{ name: "a", strength: 1 }], []), "", "nothing available: nothing sent");
  assert.deepEqual(Array.from(DG.loraNames(CATALOGUE, "")), [], "the default model (synth) lists none");
  assert.deepEqual(Array.from(DG.loraNames(CATALOGUE, "sao")), ["my-kicks", "friend-jam"]);
  assert.deepEqual(Array.from(DG.loraNames(CATALOGUE, "nope")), []);
  assert.deepEqual(Array.from(DG.loraNames(null, "sao")), []);
  assert.deepEqual(Array.from(DG.loraNames([{ name: "m", default: true, loras: [{ name: "x" }, { rank: 2 }, "y"] }], "")), ["x", "y"]);
});

test("the new controls fit on the device's face", () => {
  const patcher = readAmxd(fs.readFileSync(build.OUT_AMXD)).patcher.patcher;
  for (const { box } of patcher.boxes) {
    if (!box.presentation) continue;
    const [x, y, w, h] = box.presentation_rect;
    assert.ok(x >= 0 && x + w <= patcher.devicewidth, `${box.varname || box.text} fits the device's width`);
    assert.ok(y >= 0 && y + h <= 169, `${box.varname || box.text} fits Live's device height`);
  }
});
