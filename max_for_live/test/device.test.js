// The device's conversation with the daemon and with Live: connecting, every reply, placing results.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { connected, replyPortOf, runJob, LiveSet, loadDevice } = require("./helpers");

const RESEND_MS = 1000;
const WATCH_MS = 4000;

test("init: sets udpsend's host and port, listens on its own reply port and pings", () => {
  const d = loadDevice(new LiveSet());
  d.send("host", "192.168.1.20");
  d.send("port", 9960);
  d.send("init");
  const port = replyPortOf(d);
  assert.ok(port >= 20000 && port <= 60999, `auto reply port ${port}`);
  assert.deepEqual(d.record.udpsend.slice(0, 2), [["host", "192.168.1.20"], ["port", 9960]]);
  assert.deepEqual(d.lastRequest(), ["/dawgen/ping", d.lastRequest()[1], "reply_port", port]);
  // Live-saved controls are asked to send their values again (the Set may have restored them).
  for (const name of ["mode", "bars", "seed", "count", "strength", "port", "replyport", "place"]) {
    assert.ok(d.ui(name).some((m) => m[0] === "bang"), `${name} refreshed`);
  }
});

test("two device instances use different request ids", () => {
  const a = connected(), b = connected();
  assert.notEqual(a.lastRequest()[1].split("-")[1], b.lastRequest()[1].split("-")[1]);
});

test("a set reply port is used as it is", () => {
  const d = connected({}, { replyport: 45123 });
  assert.equal(replyPortOf(d), 45123);
  assert.equal(d.lastRequest().slice(-1)[0], 45123);
});

test("pong, then models: the menu lists the models, unavailable ones marked", () => {
  const catalogue = [{ name: "synth", default: true, verbs: {} }, { name: "sao", unavailable: "no weights", verbs: {} }];
  const d = connected({}, { catalogue });
  assert.match(d.record.ui.find((l) => l[0] === "status" && /Connected/.test(l[2]))[2], /dawgen 0\.1\.0 at 127\.0\.0\.1:9950/);
  assert.deepEqual(d.ui("model"), [["clear"], ["append", "default (synth)"], ["append", "synth"],
    ["append", "sao (unavailable)"], ["set", 0]]);
  d.send("model", 2);
  assert.equal(JSON.parse(decodeURIComponent(d.ui("store").pop()[0])).model, "sao");
});

test("no answer: the same request id is resent, another reply port tried, then the status says why", () => {
  const d = loadDevice(new LiveSet());
  d.send("init");
  const first = d.lastRequest();
  d.clock.advance(RESEND_MS * 3 + 10);
  const pings = d.requests().filter((r) => r[1] === first[1]);
  assert.equal(pings.length, 4, "sent once and resent three times with the same id");
  d.clock.advance(RESEND_MS * 4 * 3);
  assert.ok(d.record.udpreceive.length >= 3, "two more reply ports tried");
  assert.match(d.shown("status"), /No answer from dawgen at 127\.0\.0\.1:9950\. Start it with `dawgen serve`/);
  const before = d.requests().length;
  d.clock.advance(5000 + 10);
  assert.equal(d.lastRequest()[0], "/dawgen/ping", "keeps trying quietly");
  assert.ok(d.requests().length > before);
  d.osc("/dawgen/pong", d.lastRequest()[1], "0.1.0");
  assert.match(d.record.ui.filter((l) => l[0] === "status").map((l) => l[2]).join("\n"), /Connected/);
});

test("ack, progress and done: queue position, stage, percent, then the clip in the selected slot", () => {
  const d = connected({ tracks: [{ name: "Beats", kind: "audio", slots: [null, null, null] }], highlighted: { track: 0, slot: 1 } });
  d.send("seed", 1234);
  d.send("generate", 1);
  const req = d.lastRequest();
  d.osc("/dawgen/ack", req[1], "job1", 2);
  assert.equal(d.shown("status"), "Queued: 2 jobs ahead.");
  assert.equal(d.shown("detail"), "queue position 2");
  d.osc("/dawgen/progress", "job1", 0.456, "generating", 3.25);
  assert.equal(d.shown("status"), "generating 46%");
  assert.equal(d.shown("detail"), "about 3.3 s left");
  assert.deepEqual(d.ui("progress").pop(), [46]);
  d.osc("/dawgen/done", "job1", "/music/dawgen/2026-01-01/kick_1234.wav");
  const created = d.set.log.filter((l) => l.fn === "create_audio_clip");
  assert.deepEqual(created, [{ path: "live_set tracks 0 clip_slots 1", fn: "create_audio_clip",
    args: ["/music/dawgen/2026-01-01/kick_1234.wav"] }]);
  assert.equal(d.set.tracks[0].slots[1].file_path, "/music/dawgen/2026-01-01/kick_1234.wav");
  assert.equal(d.shown("status"), "Done: 1 clip → Beats slot 2.");
  assert.equal(d.shown("lastseed"), "last seed 1234");
  assert.deepEqual(d.ui("progress").pop(), [100]);
  assert.ok(d.record.posts.some((p) => p.includes("kick_1234.wav")), "every path goes to the Max console");
});

test("count > 1: the selected slot and the empty ones below, new scenes when the track runs out", () => {
  const occupied = { audio: true, file_path: "/x/old.wav", name: "old" };
  const d = connected({ tracks: [{ name: "A", kind: "audio", slots: [null, occupied, null] }], highlighted: { track: 0, slot: 0 } });
  d.send("count", 3);
  d.send("seed", 10);
  runJob(d, "j", ["/o/a_10.wav", "/o/a_11.wav", "/o/a_12.wav"]);
  assert.deepEqual(d.set.tracks[0].slots.map((c) => c && c.file_path), ["/o/a_10.wav", "/x/old.wav", "/o/a_11.wav", "/o/a_12.wav"]);
  assert.ok(d.set.log.some((l) => l.fn === "create_scene"));
  assert.equal(d.shown("lastseed"), "last seed 10–12");
});

test("Arrangement view: Track.create_audio_clip at the insert marker, one file after another", () => {
  const d = connected({ focused: "Arranger", songTime: 16, selectedTrack: 0, audioBeats: () => 8 });
  d.send("count", 2);
  runJob(d, "j", ["/o/a.wav", "/o/b.wav"]);
  const calls = d.set.log.filter((l) => l.fn === "create_audio_clip");
  assert.deepEqual(calls.map((c) => [c.path, ...c.args]), [["live_set tracks 0", "/o/a.wav", 16], ["live_set tracks 0", "/o/b.wav", 24]]);
  assert.match(d.shown("status"), /Done: 2 clips → Audio at beat 17, Audio at beat 25\./);
});

test("Live older than 12.0.5: nothing is loaded; the path and the way to it in the browser are shown", () => {
  for (const version of [[12, 0, 1], [11, 3, 25]]) {
    const d = connected({ version });
    runJob(d, "j", ["/Users/me/Music/dawgen/2026-01-01/kick_1.wav"]);
    assert.equal(d.set.log.filter((l) => l.fn.startsWith("create")).length, 0);
    const status = d.shown("status");
    assert.match(status, new RegExp(`Live ${version.join("\\.")} can't load files into clips from a device \\(needs Live 12\\.0\\.5`));
    assert.match(status, /Not placed: kick_1\.wav in \/Users\/me\/Music\/dawgen\/2026-01-01 \(in Live's browser: Places › Add Folder…/);
  }
});

test("Place off: files are only reported", () => {
  const d = connected();
  d.send("place", 3);
  runJob(d, "j", ["/o/a.wav"]);
  assert.equal(d.set.log.filter((l) => l.fn.startsWith("create")).length, 0);
  assert.match(d.shown("status"), /Place is off\. Not placed: a\.wav in \/o/);
});

test("audio results need an audio track: said before anything is sent", () => {
  const d = connected({ tracks: [{ name: "Keys", kind: "midi", slots: [null] }] });
  const before = d.requests().length;
  d.send("generate", 1);
  assert.equal(d.requests().length, before);
  assert.match(d.shown("status"), /need a slot on an audio track; track 1 is a midi track/);
});

test("error replies: refused requests and failed jobs in words; the bar resets", () => {
  const withClip = { tracks: [{ name: "A", kind: "audio", slots: [{ audio: true, file_path: "/in/take.wav" }, null] }],
    detail: { track: 0, slot: 0 } };
  const d = connected(withClip);
  d.send("mode", 3);
  d.send("generate", 1);
  const vary = d.lastRequest();
  d.osc("/dawgen/error", vary[1], "unknown_verb", "unknown verb 'vary'; verbs: cancel, generate, ping");
  assert.equal(d.shown("status"), "No model here can do vary with the default model yet (unknown verb 'vary'; verbs: " +
    "cancel, generate, ping). Pick a model that does it, or install its backend.");
  d.send("mode", 0);
  d.send("generate", 1);
  const gen = d.lastRequest();
  d.osc("/dawgen/ack", gen[1], "j9", 0);
  d.osc("/dawgen/progress", "j9", 0.5, "generating", -1);
  d.osc("/dawgen/error", "j9", "backend_failed", "model exploded");
  assert.equal(d.shown("status"), "The model failed: model exploded");
  assert.deepEqual(d.ui("progress").pop(), [0]);
  d.send("folder", "../outside");
  d.send("generate", 1);
  d.osc("/dawgen/error", d.lastRequest()[1], "out_of_root", "dir '../outside' leaves the output root");
  assert.match(d.shown("status"), /^The Folder setting must stay inside the daemon's output folder: dir/);
});

test("cancel before the ack names the request id; after it, the job id; both outcomes shown", () => {
  const d = connected();
  d.send("generate", 1);
  const gen = d.lastRequest();
  d.send("cancel", 1);
  const early = d.lastRequest();
  assert.deepEqual(early.slice(0, 4), ["/dawgen/cancel", early[1], "job", gen[1]]);
  d.osc("/dawgen/cancelled", early[1], "jq", "cancelled");
  assert.equal(d.shown("status"), "Cancelled.");
  d.clock.advance(RESEND_MS * 5);
  assert.equal(d.requests().filter((r) => r[1] === gen[1]).length, 1, "a cancelled request is not resent");

  d.send("generate", 1);
  const second = d.lastRequest();
  d.osc("/dawgen/ack", second[1], "jr", 0);
  d.osc("/dawgen/progress", "jr", 0.2, "generating", 1);
  d.send("cancel", 0); // a button release does nothing
  d.send("cancel", 1);
  const late = d.lastRequest();
  assert.deepEqual(late.slice(0, 4), ["/dawgen/cancel", late[1], "job", "jr"]);
  d.osc("/dawgen/cancelled", late[1], "jr", "running");
  assert.equal(d.shown("status"), "Stopping the running job…");
  d.osc("/dawgen/error", "jr", "cancelled", "cancelled by request");
  assert.equal(d.shown("status"), "Cancelled.");
  d.send("cancel", 1);
  assert.equal(d.shown("status"), "Nothing to cancel.");
});

test("a lost done is recovered by asking the job's status; a late duplicate changes nothing", () => {
  const d = connected();
  d.send("generate", 1);
  const gen = d.lastRequest();
  d.osc("/dawgen/ack", gen[1], "jl", 0);
  d.clock.advance(WATCH_MS * 2 + 10);
  const status = d.requests().filter((r) => r[0] === "/dawgen/status");
  assert.equal(status.length, 1);
  assert.deepEqual(status[0].slice(2), ["job", "jl", "reply_port", replyPortOf(d)]);
  d.osc("/dawgen/status", status[0][1], "jl", "done", 1, "writing", 0, -1, "/o/late.wav");
  d.osc("/dawgen/done", "jl", "/o/late.wav");
  assert.equal(d.set.log.filter((l) => l.fn === "create_audio_clip").length, 1);
  assert.match(d.shown("status"), /^Done: 1 clip/);
});

test("a job the daemon forgot (not_found on status) stops being watched", () => {
  const d = connected();
  d.send("generate", 1);
  d.osc("/dawgen/ack", d.lastRequest()[1], "jf", 0);
  d.clock.advance(WATCH_MS * 2 + 10);
  const status = d.lastRequest();
  d.osc("/dawgen/error", status[1], "not_found", "no job jf");
  assert.match(d.shown("status"), /doesn't know that job/);
  const count = d.requests().length;
  d.clock.advance(WATCH_MS * 5);
  assert.equal(d.requests().filter((r) => r[0] === "/dawgen/status").length, 1);
  assert.equal(d.requests().length, count);
});

test("replies for other ids are ignored", () => {
  const d = connected();
  d.osc("/dawgen/done", "someone-else", "/o/x.wav");
  d.osc("/dawgen/ack", "m4l-other-1", "j", 0);
  d.osc("/dawgen/listening", "x", 1);
  assert.equal(d.set.log.filter((l) => l.fn.startsWith("create")).length, 0);
});

test("tempo and meter changes in Live reach the next request", () => {
  const d = connected({ tempo: 120 });
  d.set.setTempo(87);
  d.set.setSignature(6, 8);
  assert.match(d.shown("detail"), /^87 BPM 6\/8/);
  d.send("mode", 1);
  d.send("bars", 2);
  d.send("generate", 1);
  const req = d.lastRequest();
  assert.equal(req[req.indexOf("bpm") + 1], 87);
  assert.equal(req[req.indexOf("bars") + 1], 1.5);
});

test("text settings are stored with the Set and restored", () => {
  const d = loadDevice(new LiveSet());
  d.send("prompt", "dark", 808);
  assert.deepEqual(JSON.parse(decodeURIComponent(d.ui("store").pop()[0])), { prompt: "dark 808", folder: "", host: "127.0.0.1", model: "",
    lora1: "", lora2: "", dataset: "", trainBase: "", token: "", project: "", dawgenPath: "" });
  // Max must never read a stored prompt back as message syntax (commas, semicolons, quotes, spaces).
  d.send("prompt", 'dark, "wet"; 808');
  const stored = d.ui("store").pop()[0];
  assert.doesNotMatch(stored, /[,; "{}]/);
  const back = loadDevice(new LiveSet());
  back.send("restore", stored);
  assert.deepEqual(back.ui("prompt").pop(), ["set", 'dark, "wet"; 808']);
  const e = loadDevice(new LiveSet());
  e.send("restore", JSON.stringify({ prompt: "airy pad", folder: "set1", host: "10.0.0.2", model: "sao" }));
  e.send("init");
  assert.deepEqual(e.ui("prompt").pop(), ["set", "airy pad"]);
  assert.deepEqual(e.record.udpsend[0], ["host", "10.0.0.2"]);
  const ping = e.lastRequest();
  e.osc("/dawgen/pong", ping[1], "0.1.0");
  e.osc("/dawgen/models", e.lastRequest()[1], JSON.stringify([{ name: "synth", default: true, verbs: {} }, { name: "sao", verbs: {} }]));
  assert.deepEqual(e.ui("model").pop(), ["set", 2], "the saved model is selected again");
});

test("dice rolls a seed into the seed box; keep puts the last result's seed back", () => {
  const d = connected();
  d.send("keep", 1);
  assert.match(d.shown("status"), /No seed to keep yet/);
  d.send("dice", 1);
  const rolled = d.ui("seed").pop()[0];
  assert.ok(Number.isInteger(rolled) && rolled >= 0 && rolled <= 16777215);
  d.send("seed", -1);
  const req = runJob(d, "j", ["/o/x.wav"]);
  const used = req[req.indexOf("seed") + 1];
  d.send("keep", 1);
  assert.deepEqual(d.ui("seed").pop(), [used]);
});

test("host and port changes reconnect", () => {
  const d = connected();
  d.send("port", 9999);
  assert.deepEqual(d.record.udpsend.filter((l) => l[0] === "port").pop(), ["port", 9999]);
  assert.equal(d.lastRequest()[0], "/dawgen/ping");
  d.send("host", "studio.local");
  assert.deepEqual(d.record.udpsend.filter((l) => l[0] === "host").pop(), ["host", "studio.local"]);
});

test("Arrangement view: when Live puts a clip elsewhere (snapped), the next file follows it where it is", () => {
  const d = connected({ focused: "Arranger", songTime: 16 });
  const create = d.set.calls["track.create_audio_clip"];
  d.set.calls = { ...d.set.calls, "track.create_audio_clip"(node, path, position) {
    return create.call(this, node, path, position + 0.5); // e.g. snapped to a grid
  } };
  d.send("count", 2);
  runJob(d, "j", ["/o/a.wav", "/o/b.wav"]);
  assert.deepEqual(d.set.log.filter((l) => l.fn === "create_audio_clip").map((l) => l.args[1]), [16, 20.5]);
  assert.match(d.shown("status"), /^Done: 2 clips → Audio at beat 17\.5, Audio at beat 22\.$/);
});
