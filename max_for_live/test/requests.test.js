// The OSC messages the device builds, checked exactly and against docs/PROTOCOL.md.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { connected, replyPortOf, protocolTables, pairs, params, COMMON, SYNTH_GENERATE } = require("./helpers");

const AUDIO_CLIP = { audio: true, file_path: "/Users/me/Music/take 3.wav", name: "take 3" };
const WITH_CLIP = {
  tracks: [{ name: "Vox", kind: "audio", slots: [AUDIO_CLIP, null, null] }],
  detail: { track: 0, slot: 0 },
  highlighted: { track: 0, slot: 0 },
};

function generate(d, settings) {
  for (const [name, value] of Object.entries(settings)) {
    if (Array.isArray(value)) d.send(name, ...value);
    else d.send(name, value);
  }
  const before = d.requests().length;
  d.send("generate", 1);
  const sent = d.requests().slice(before);
  assert.equal(sent.length, 1, `one request expected, status: ${d.shown("status")}`);
  return sent[0];
}

test("one-shot: generate with prompt, tempo, seed and count, reply_port last", () => {
  const d = connected({ tempo: 128 });
  const req = generate(d, { prompt: ["punchy", "kick"], seed: 42, count: 4 });
  assert.deepEqual(req, ["/dawgen/generate", req[1], "prompt", "punchy kick", "bpm", 128, "seed", 42, "count", 4,
    "reply_port", replyPortOf(d)]);
  assert.match(req[1], /^m4l-[a-z0-9]{6}-\d+$/);
});

test("loop in 4/4: bars and the Set's tempo", () => {
  const d = connected({ tempo: 93.5 });
  const req = generate(d, { mode: 1, prompt: ["lofi", "drum", "loop"], bars: 4, seed: 7 });
  assert.deepEqual(pairs(req), [["prompt", "lofi drum loop"], ["bars", 4], ["bpm", 93.5], ["seed", 7], ["count", 1],
    ["reply_port", replyPortOf(d)]]);
});

test("loop in 3/4 without time_signature: bars become 4/4 bars of the same length", () => {
  const d = connected({ tempo: 90, sigNum: 3, sigDen: 4 });
  const req = generate(d, { mode: 1, bars: 2, seed: 1 });
  assert.deepEqual(pairs(req).slice(0, 2), [["bars", 1.5], ["bpm", 90]]);
  const d78 = connected({ tempo: 90, sigNum: 7, sigDen: 8 });
  assert.deepEqual(pairs(generate(d78, { mode: 1, bars: 2, seed: 1 }))[0], ["bars", 1.75]);
});

test("loop with a model that declares time_signature: bars in the Set's meter plus the meter", () => {
  const catalogue = [{ name: "synth", default: true, verbs: { generate: params([...SYNTH_GENERATE, "time_signature"]) } }];
  const d = connected({ tempo: 90, sigNum: 3, sigDen: 4 }, { catalogue });
  const req = generate(d, { mode: 1, bars: 2, seed: 1 });
  assert.deepEqual(pairs(req).slice(0, 3), [["bars", 2], ["time_signature", "3/4"], ["bpm", 90]]);
});

test("a model without bars gets seconds at the Set's tempo, and nothing it does not declare", () => {
  const catalogue = [
    { name: "synth", default: true, verbs: { generate: params(SYNTH_GENERATE) } },
    { name: "sao", verbs: { generate: params([...COMMON, "prompt", "seconds", "seed", "count", "steps"]) } },
  ];
  const d = connected({ tempo: 120 }, { catalogue });
  d.send("model", 2); // menu: default, synth, sao
  const req = generate(d, { mode: 1, prompt: ["techno", "loop"], bars: 4, seed: 3 });
  assert.deepEqual(pairs(req), [["prompt", "techno loop"], ["seconds", 8], ["seed", 3], ["count", 1], ["model", "sao"],
    ["reply_port", replyPortOf(d)]]);
});

test("continue: input = the selected clip's file_path, seconds of continuation", () => {
  const d = connected({ tempo: 120, ...WITH_CLIP });
  const req = generate(d, { mode: 2, prompt: ["keep", "going"], bars: 8, seed: 5, count: 2 });
  assert.deepEqual(req, ["/dawgen/continue", req[1], "input", "/Users/me/Music/take 3.wav", "prompt", "keep going",
    "seconds", 16, "seed", 5, "count", 2, "reply_port", replyPortOf(d)]);
});

test("vary: input, strength, seed, count", () => {
  const d = connected({ ...WITH_CLIP });
  const req = generate(d, { mode: 3, strength: 0.3, seed: 9 });
  assert.deepEqual(req, ["/dawgen/vary", req[1], "input", "/Users/me/Music/take 3.wav", "strength", 0.3, "seed", 9,
    "count", 1, "reply_port", replyPortOf(d)]);
});

test("stems: separate with the clip's file as input", () => {
  const d = connected({ ...WITH_CLIP });
  const req = generate(d, { mode: 4 });
  assert.deepEqual(req, ["/dawgen/separate", req[1], "input", "/Users/me/Music/take 3.wav", "reply_port", replyPortOf(d)]);
});

test("MIDI drums and melody: midi/generate with kind, bars and bpm", () => {
  const d = connected({ tempo: 100, tracks: [{ name: "Drums", kind: "midi", slots: [null] }] });
  const drums = generate(d, { mode: 5, bars: 2, seed: 11 });
  assert.deepEqual(drums, ["/dawgen/midi/generate", drums[1], "kind", "drums", "bars", 2, "bpm", 100, "seed", 11,
    "count", 1, "reply_port", replyPortOf(d)]);
  assert.equal(generate(d, { mode: 6 })[3], "melody");
});

test("model and folder travel as model and dir", () => {
  const d = connected();
  d.send("model", 1);
  const req = generate(d, { folder: ["ableton", "set1"], seed: 1 });
  assert.deepEqual(pairs(req).slice(-3), [["model", "synth"], ["dir", "ableton set1"], ["reply_port", replyPortOf(d)]]);
});

test("seed -1 rolls a seed the seed box can hold, and sends it", () => {
  const d = connected();
  const seeds = new Set();
  for (let i = 0; i < 20; i++) {
    const seed = pairs(generate(d, { seed: -1 })).find((p) => p[0] === "seed")[1];
    assert.ok(Number.isInteger(seed) && seed >= 0 && seed <= 16777215);
    seeds.add(seed);
  }
  assert.ok(seeds.size > 15, "seeds are random");
});

test("requests that need a clip say so in words and send nothing", () => {
  const none = connected();
  none.send("mode", 3);
  none.send("generate", 1);
  assert.equal(none.requests().filter((r) => r[0] === "/dawgen/vary").length, 0);
  assert.match(none.shown("status"), /Select an audio clip first/);
  const midiClip = connected({ tracks: [{ name: "Keys", kind: "midi", slots: [{ audio: false, name: "m" }] }],
    detail: { track: 0, slot: 0 } });
  midiClip.send("mode", 2);
  midiClip.send("generate", 1);
  assert.match(midiClip.shown("status"), /MIDI clip; continue clip needs an audio clip/);
});

test("control requests: ping, catalog, models, cancel and status", () => {
  const d = connected();
  const port = replyPortOf(d);
  const [ping, catalog, models] = d.requests();
  assert.deepEqual(ping, ["/dawgen/ping", ping[1], "reply_port", port]);
  assert.deepEqual(catalog, ["/dawgen/catalog", catalog[1], "reply_port", port]);
  assert.deepEqual(models, ["/dawgen/models", models[1], "reply_port", port]);
  const gen = generate(d, { seed: 1 });
  d.osc("/dawgen/ack", gen[1], "4f1c0a2b9e77", 0);
  d.send("cancel", 1);
  const cancel = d.lastRequest();
  assert.deepEqual(cancel, ["/dawgen/cancel", cancel[1], "job", "4f1c0a2b9e77", "reply_port", port]);
});

// Every parameter the device sends to an address documented in docs/PROTOCOL.md is in that
// address's table, with the documented type and range. (Verbs whose backends have not landed are
// not in the document yet; once they are, this test holds them to it too.)
test("requests match docs/PROTOCOL.md's tables", () => {
  const tables = protocolTables();
  const d = connected({ tempo: 93, ...WITH_CLIP, tracks: [{ name: "A", kind: "audio", slots: [AUDIO_CLIP, null] },
    { name: "M", kind: "midi", slots: [null] }] }, { before: (dev) => dev.send("token", "t0k3n"),
    pullCatalog: [{ name: "musicgen-small", backend: "musicgen", installed: false, bytes: 1200000000, licence: "CC-BY-NC-4.0" }] });
  const built = [];
  for (let mode = 0; mode < 7; mode++) {
    if (mode >= 5) d.set.highlighted = { track: 1, slot: 0 };
    built.push(generate(d, { mode, prompt: ["dark", "808"], bars: 3, count: 2, seed: 99, folder: "ableton" }));
  }
  const gen = built[0];
  d.osc("/dawgen/ack", gen[1], "abc", 1);
  d.send("cancel", 1);
  d.send("catalogpick", 1);
  d.send("getmodel", 1);
  built.push(...d.requests().filter((r) => !r[0].startsWith("/dawgen/generate")));
  assert.ok(built.some((r) => r[0] === "/dawgen/pull") && built.some((r) => r[0] === "/dawgen/catalog"));
  let checked = 0;
  for (const req of built) {
    assert.equal(typeof req[1], "string", "request id is a string");
    assert.deepEqual(req.slice(-4), ["token", "t0k3n", "reply_port", req[req.length - 1]], `${req[0]} carries the token`);
    const table = tables[req[0]];
    if (!table) continue;
    for (const [name, value] of pairs(req)) {
      const spec = table[name];
      assert.ok(spec, `${req[0]}: ${name} is not in docs/PROTOCOL.md`);
      if (spec.type === "int") assert.ok(Number.isInteger(value), `${name}=${value} must be an int`);
      if (spec.type === "float") assert.equal(typeof value, "number", `${name} must be a number`);
      if (spec.type === "str") assert.equal(typeof value, "string", `${name} must be a string`);
      if (spec.min !== undefined) assert.ok(value >= spec.min && value <= spec.max, `${name}=${value} out of range`);
      if (spec.choices) assert.ok(spec.choices.includes(String(value)), `${name}=${value} not a choice`);
      checked += 1;
    }
  }
  assert.ok(tables["/dawgen/generate"] && tables["/dawgen/cancel"] && tables["/dawgen/ping"] && tables["/dawgen/pull"]);
  assert.ok(checked >= 15, `checked ${checked} parameters`);
});
