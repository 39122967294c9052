// The Train section: a dataset folder filled from clips (audio copy + `.txt` prompt sidecar, the
// format server/training/prompts.py reads), the train request, progress with loss, the model menu
// refreshed when done.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { connected } = require("./helpers");

const TAKE = "/proj/Samples/Recorded/take 1.wav";
const withClip = (detail) => ({
  tracks: [{ name: "A", kind: "audio", slots: [{ audio: true, file_path: TAKE, name: "dusty break" }],
    arrangement: [{ audio: true, file_path: TAKE, name: "arr take", start_time: 8, end_time: 24 }] }],
  detail,
});
const files = { [TAKE]: Buffer.from("RIFF-take-bytes") };
const readFile = (p) => {
  if (!(p in files)) throw new Error("ENOENT");
  return files[p];
};

test("add clip: the selected clip's file is copied into the dataset folder with a prompt sidecar", () => {
  const d = connected(withClip({ track: 0, slot: 0 }), { readFile, folders: ["/data/My Breaks"] });
  d.send("dataset", "/data/My", "Breaks/");
  d.send("addclip", 1);
  const w = d.record.written;
  assert.equal(Buffer.from(w["/data/My Breaks/take 1.wav"]).toString(), "RIFF-take-bytes");
  assert.equal(Buffer.from(w["/data/My Breaks/take 1.wav.txt"]).toString(), "dusty break", "the clip's name, no prompt typed");
  assert.match(d.shown("trainstatus"), /Added take 1\.wav \("dusty break"\) to My Breaks\./);
  // An Arrangement clip, with a prompt typed: a free name, the prompt in the sidecar.
  d.set.detail = { track: 0, arrangement: 0 };
  d.send("prompt", "lofi", "break");
  d.send("addclip", 1);
  assert.equal(Buffer.from(w["/data/My Breaks/take 1-2.wav.txt"]).toString(), "lofi break");
});

test("add clip says why not: no folder, no clip, a MIDI clip, a folder Max can't write to", () => {
  const d = connected(withClip(null), { readFile, folders: [] });
  d.send("addclip", 1);
  assert.match(d.shown("trainstatus"), /Type the dataset folder first/);
  d.send("dataset", "/nowhere/set");
  d.send("addclip", 1);
  assert.match(d.shown("trainstatus"), /Select an audio clip/);
  d.set.detail = { track: 0, slot: 0 };
  d.send("addclip", 1);
  assert.match(d.shown("trainstatus"), /Could not add the clip to \/nowhere\/set: can't write .* \(the folder must exist/);
});

test("Train: /dawgen/train with kind, data, name, steps, base; progress with loss; menus refreshed when done", () => {
  const catalogue = [{ name: "synth", default: true, verbs: {} }, { name: "sao-small", verbs: {} }];
  const d = connected({}, { catalogue });
  assert.deepEqual(d.ui("trainbase").slice(-5), [["clear"], ["append", "(no base)"], ["append", "synth"], ["append", "sao-small"], ["set", 0]]);
  d.send("dataset", "/data/My Breaks");
  d.send("trainkind", 4);
  d.send("trainsteps", 500);
  d.send("trainbase", 2);
  d.send("train", 1);
  const req = d.lastRequest();
  assert.deepEqual(req, ["/dawgen/train", req[1], "kind", "musicgen-lora", "data", "/data/My Breaks", "name", "my-breaks",
    "steps", 500, "base", "sao-small", "reply_port", req[req.length - 1]]);
  d.osc("/dawgen/ack", req[1], "t1", 0);
  d.osc("/dawgen/dataset", "t1", 12, 1, "12 clips from 3 files, 1 rejected");
  assert.equal(d.shown("trainstatus"), "my-breaks: 12 clips from 3 files, 1 rejected");
  d.osc("/dawgen/training", "t1", 120, 500, 0.23456);
  assert.equal(d.shown("trainstatus"), "my-breaks: step 120/500, loss 0.2346");
  d.osc("/dawgen/checkpoint", "t1", 500, "/models/my-breaks/step-500");
  const before = d.requests().length;
  d.osc("/dawgen/done", "t1", "/models/my-breaks", "/o/demo-0.wav", "/models/my-breaks/loss.png");
  assert.match(d.shown("trainstatus"), /^Trained my-breaks \(step 500\): pick it in the model menu/);
  assert.equal(d.requests()[before][0], "/dawgen/models", "the model list is asked for again");
  assert.deepEqual(d.set.log.filter((l) => l.fn.startsWith("create")), [], "nothing from a train job goes into the Set");
  d.osc("/dawgen/models", d.requests()[before][1], JSON.stringify([...catalogue, { name: "my-breaks", verbs: {} }]));
  assert.ok(d.ui("model").some((m) => m[0] === "append" && m[1] === "my-breaks"), "the new model is in the menu");
});

test("a refused train request shows in the Train readout", () => {
  const d = connected();
  d.send("dataset", "/data/x");
  d.send("train", 1);
  d.osc("/dawgen/error", d.lastRequest()[1], "bad_request", "data: no usable file");
  assert.match(d.shown("trainstatus"), /dawgen refused training x: data: no usable file/);
});
