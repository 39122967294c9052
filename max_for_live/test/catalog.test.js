// "Get a model" (issue #20): the catalog menu from /dawgen/catalog, Get -> /dawgen/pull with its
// progress in the models section, the model menu refreshed when it is done, gated licences in words.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { connected, replyPortOf, SYNTH } = require("./helpers");

const CATALOG = [
  { name: "htdemucs", backend: "demucs", installed: true, bytes: 84000000, download_gb: 0.08, memory_gb: 1,
    licence: "MIT", licence_url: "https://github.com/facebookresearch/demucs/blob/main/LICENSE", gated: false, needs: [] },
  { name: "musicgen-small", backend: "musicgen", installed: false, bytes: null, download_gb: 1.2, memory_gb: 4,
    licence: "CC-BY-NC-4.0", licence_url: "https://creativecommons.org/licenses/by-nc/4.0/", gated: false, needs: [] },
  { name: "stable-audio-open-small", backend: "stable-audio", installed: false, bytes: 1400000000, download_gb: 1.4,
    memory_gb: 6, licence: "Stability AI Community", licence_url: "https://huggingface.co/stabilityai/stable-audio-open-small/blob/main/LICENSE.md",
    gated: true, page: "https://huggingface.co/stabilityai/stable-audio-open-small", needs: ["t5-base"] },
  { name: "t5-base", backend: null, installed: false, bytes: 900000000, licence: "Apache-2.0", gated: false, needs: [] },
];

function menu(d, name) {
  let items = [], selected = null;
  for (const [cmd, ...rest] of d.ui(name)) {
    if (cmd === "clear") items = [];
    else if (cmd === "append") items.push(rest.join(" "));
    else if (cmd === "set") selected = rest[0];
  }
  return { items, selected };
}

const pulled = (d) => d.requests().filter((r) => r[0] === "/dawgen/pull");

test("the catalog menu: name · size · licence · installed; dependencies only come with their models", () => {
  const d = connected({}, { pullCatalog: CATALOG });
  assert.deepEqual(menu(d, "catalog"), { items: ["get a model…", "htdemucs · 84 MB · MIT · installed",
    "musicgen-small · 1.2 GB · CC-BY-NC-4.0 · get", "stable-audio-open-small · 1.4 GB · Stability AI Community · gated"], selected: 0 });
  d.send("catalogpick", 3);
  assert.equal(d.shown("cataloginfo"), "1.4 GB download, 6 GB memory · with t5-base · Stability AI Community (gated: accept at " +
    "https://huggingface.co/stabilityai/stable-audio-open-small) · not installed");
  d.send("catalogpick", 1);
  d.send("getmodel", 1);
  assert.equal(pulled(d).length, 0);
  assert.match(d.shown("pullstatus"), /installed already/);
  d.send("catalogpick", 0);
  d.send("getmodel", 1);
  assert.match(d.shown("pullstatus"), /Pick a model/);
});

test("Get pulls the model as a job: progress in the models section, then the model menu is asked again", () => {
  const d = connected({}, { pullCatalog: CATALOG });
  d.send("catalogpick", 2);
  d.send("getmodel", 1);
  const [pull] = pulled(d);
  assert.deepEqual(pull, ["/dawgen/pull", pull[1], "name", "musicgen-small", "reply_port", replyPortOf(d)]);
  const mainStatus = d.shown("status"), mainProgress = d.ui("progress").length;
  d.osc("/dawgen/ack", pull[1], "p1", 1);
  assert.match(d.shown("pullstatus"), /musicgen-small: queued, 1 job ahead/);
  d.osc("/dawgen/progress", "p1", 0.25, "musicgen-small/model.safetensors", 30);
  assert.equal(d.shown("pullstatus"), "musicgen-small: musicgen-small/model.safetensors 25%");
  assert.deepEqual(d.ui("pullprogress").pop(), [25]);
  assert.equal(d.shown("status"), mainStatus, "the Generate status line is left alone");
  assert.equal(d.ui("progress").length, mainProgress, "and so is its progress bar");
  const before = d.requests().length;
  d.osc("/dawgen/done", "p1", "/models/musicgen-small");
  assert.match(d.shown("pullstatus"), /^Got musicgen-small: it is in the model menu now/);
  const asked = d.requests().slice(before).map((r) => r[0]);
  assert.deepEqual(asked.sort(), ["/dawgen/catalog", "/dawgen/models"]);
  const models = d.requests().slice(before).find((r) => r[0] === "/dawgen/models");
  d.osc("/dawgen/models", models[1], JSON.stringify([...SYNTH, { name: "musicgen-small", backend: "musicgen", verbs: {} }]));
  assert.deepEqual(menu(d, "model").items, ["default (synth)", "synth", "musicgen-small"]);
});

test("a gated model: the refusal names the licence page and how the daemon gets its Hugging Face token", () => {
  const d = connected({}, { pullCatalog: CATALOG });
  d.send("catalogpick", 3);
  d.send("getmodel", 1);
  const [pull] = pulled(d);
  d.osc("/dawgen/error", pull[1], "model_unavailable", "stable-audio-open-small is gated: accept the licence and set HF_TOKEN");
  const text = d.shown("pullstatus");
  assert.match(text, /^stable-audio-open-small is gated: accept its licence at https:\/\/huggingface\.co\/stabilityai\/stable-audio-open-small /);
  assert.match(text, /HF_TOKEN, or `dawgen login`/);
  assert.deepEqual(d.ui("pullprogress").pop(), [0]);
  // The job may also fail later (a token without access): the same words.
  d.send("getmodel", 1);
  const again = pulled(d)[1];
  d.osc("/dawgen/ack", again[1], "p2", 0);
  d.osc("/dawgen/error", "p2", "model_unavailable", "403: access not granted");
  assert.match(d.shown("pullstatus"), /is gated: accept its licence at .* dawgen said: 403: access not granted$/);
  d.send("catalogpick", 2);
  d.send("getmodel", 1);
  const third = pulled(d)[2];
  d.osc("/dawgen/ack", third[1], "p3", 0);
  d.osc("/dawgen/error", "p3", "download_failed", "model.safetensors: sha256 mismatch");
  assert.equal(d.shown("pullstatus"), "The download failed: model.safetensors: sha256 mismatch");
});

test("Get again while pulling stops the download", () => {
  const d = connected({}, { pullCatalog: CATALOG });
  d.send("catalogpick", 2);
  d.send("getmodel", 1);
  const [pull] = pulled(d);
  d.osc("/dawgen/ack", pull[1], "p9", 0);
  d.osc("/dawgen/progress", "p9", 0.1, "musicgen-small/model.safetensors", -1);
  d.send("getmodel", 1);
  const cancel = d.lastRequest();
  assert.deepEqual(cancel.slice(0, 4), ["/dawgen/cancel", cancel[1], "job", "p9"]);
  d.osc("/dawgen/cancelled", cancel[1], "p9", "running");
  assert.match(d.shown("pullstatus"), /Stopping/);
  d.osc("/dawgen/error", "p9", "cancelled", "cancelled");
  assert.equal(d.shown("pullstatus"), "Stopped getting musicgen-small: nothing was installed.");
  d.send("getmodel", 1);
  assert.equal(pulled(d).length, 2, "Get works again");
});

test("a request whose model is missing offers the catalog's model: chosen in the menu, one press of Get away", () => {
  const d = connected({}, { pullCatalog: CATALOG, catalogue: [...SYNTH, { name: "musicgen-small", backend: "musicgen",
    unavailable: "no files", verbs: {} }] });
  d.send("model", 2);
  d.send("generate", 1);
  const req = d.lastRequest();
  d.osc("/dawgen/error", req[1], "model_unavailable", "musicgen-small: model files missing; dawgen pull musicgen-small");
  assert.match(d.shown("status"), /dawgen can download it: press Get \(right\)\.$/);
  assert.equal(menu(d, "catalog").selected, 2);
  d.send("getmodel", 1);
  assert.equal(pulled(d)[0][3], "musicgen-small");
});

test("a daemon without a catalog: the section says so, the device works as before", () => {
  const d = connected({}, { pullCatalog: null });
  const ask = d.requests().find((r) => r[0] === "/dawgen/catalog");
  const status = d.shown("status");
  d.osc("/dawgen/error", ask[1], "unknown_verb", "unknown verb 'catalog'");
  assert.match(d.shown("pullstatus"), /no model catalog/);
  assert.equal(d.shown("status"), status);
  assert.deepEqual(menu(d, "catalog").items, ["(no catalog)"]);
});
