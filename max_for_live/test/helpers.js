// Shared set-ups for the node tests: a device loaded and connected to a scripted daemon conversation,
// a catalogue like the one /dawgen/models returns, and docs/PROTOCOL.md's parameter tables.
"use strict";

const fs = require("fs");
const path = require("path");
const { loadDevice } = require("./fake_max");
const { LiveSet } = require("./fake_live");

const REPO = path.join(__dirname, "..", "..");

function params(names) {
  return names.map((name) => ({ name, type: "str", default: null }));
}

const COMMON = ["model", "sample_rate", "bit_depth", "format", "dir", "priority"];
// What the embedded synth declares for generate (docs/PROTOCOL.md, /dawgen/generate).
const SYNTH_GENERATE = [...COMMON, "prompt", "seconds", "seed", "count", "bpm", "bars", "note", "tone", "decay", "swing"];
const SYNTH = [{ name: "synth", backend: "synth", default: true, verbs: { generate: params(SYNTH_GENERATE) } }];

// A device after init, pong and models: ready to generate.
// `pullCatalog`: the /dawgen/catalog answer (an array), or null to leave that request unanswered.
function connected(setOpts = {}, { catalogue = SYNTH, replyport, readFile, folders, pullCatalog = [], before } = {}) {
  const set = new LiveSet(setOpts);
  const d = loadDevice(set, { ...(readFile ? { readFile } : {}), ...(folders ? { folders } : {}) });
  if (replyport) d.send("replyport", replyport);
  if (before) before(d);
  d.send("init");
  const ping = d.lastRequest();
  d.osc("/dawgen/pong", ping[1], "0.1.0");
  const models = d.requests().filter((r) => r[0] === "/dawgen/models").pop();
  d.osc("/dawgen/models", models[1], JSON.stringify(catalogue));
  const ask = d.requests().filter((r) => r[0] === "/dawgen/catalog").pop();
  if (ask && pullCatalog) d.osc("/dawgen/catalog", ask[1], JSON.stringify(pullCatalog));
  return d;
}

function replyPortOf(d) {
  const listen = d.record.udpreceive.filter((l) => l[0] === "port");
  return listen[listen.length - 1][1];
}

// Generate, acknowledge as job `jobId`, finish with `paths`; returns the request list.
function runJob(d, jobId, paths) {
  d.send("generate", 1);
  const req = d.lastRequest();
  d.osc("/dawgen/ack", req[1], jobId, 0);
  d.osc("/dawgen/done", jobId, ...paths);
  return req;
}

// docs/PROTOCOL.md: {"/dawgen/generate": {prompt: {type, min, max, choices}, ...}, ...}
function protocolTables(file = path.join(REPO, "docs", "PROTOCOL.md")) {
  const tables = {};
  let current = null;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const heading = /^### (\/dawgen\/\S+)/.exec(line);
    if (heading) {
      current = tables[heading[1]] = {};
      continue;
    }
    if (/^## /.test(line)) current = null;
    const row = current && /^\| `([a-z_]+)` \| (\w+) \| (.*?) \| (.*?) \|/.exec(line);
    if (!row) continue;
    const spec = { type: row[2] };
    const range = row[4].trim();
    const between = /^(-?[\d.]+) \.\. (-?[\d.]+)$/.exec(range);
    if (between) {
      spec.min = Number(between[1]);
      spec.max = Number(between[2]);
    } else if (range.includes("\\|")) {
      spec.choices = range.split("\\|").map((c) => c.trim());
    }
    current[row[1]] = spec;
  }
  return tables;
}

// [name, value] pairs of a request list (after address and request id).
function pairs(list) {
  const out = [];
  for (let i = 2; i < list.length; i += 2) out.push([list[i], list[i + 1]]);
  return out;
}

module.exports = { REPO, SYNTH, SYNTH_GENERATE, COMMON, params, connected, replyPortOf, runJob, protocolTables, pairs, LiveSet, loadDevice };
