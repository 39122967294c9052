// The harmony modes (issue #26): the requests they build, the selected MIDI clip written as a .mid and
// uploaded as input_blob, and results placed on new MIDI tracks named with their chord symbols.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { connected, params, COMMON, pairs, protocolTables } = require("./helpers");

const MODE = { chords: 7, bass: 8, piano: 9, trio: 10, bassline: 11, harmonize: 12, harmonize4: 13, improvise: 14 };
const MIDI_COMMON = [...COMMON, "bpm", "bars", "time_signature", "key", "seed", "count", "temperature"];
const MIDI = [{
  name: "midi", backend: "midi", default: false, verbs: {
    "midi/generate": params([...MIDI_COMMON, "kind", "scale", "chord_rhythm", "voicing", "complexity", "chords", "density"]),
    "midi/harmonize": params([...MIDI_COMMON, "input", "voices", "chord_rhythm", "voicing", "complexity"]),
    "midi/bassline": params([...MIDI_COMMON, "input", "chords", "chord_rhythm", "density"]),
    "midi/improvise": params([...MIDI_COMMON, "input", "chords", "chord_rhythm", "density"]),
  },
}];

// ---- a small SMF builder for the daemon's results -----------------------------------------------
function vlq(n) {
  const bytes = [n & 0x7f];
  while ((n >>= 7)) bytes.unshift((n & 0x7f) | 0x80);
  return bytes;
}
function chunk(tag, body) {
  const n = body.length;
  return [...Buffer.from(tag, "ascii"), (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, ...body];
}
function meta(type, text) {
  const b = [...Buffer.from(text, "utf8")];
  return [0xff, type, ...vlq(b.length), ...b];
}
// track: {name, channel, notes: [[pitch, beat, beats]], markers: [[beat, text, type]]}; 480 ppq.
function track({ name, channel = 0, notes = [], markers = [], end = 16 }) {
  const ev = [];
  for (const [beat, text, type = 6] of markers) ev.push({ t: beat * 480, o: 0, b: meta(type, text) });
  for (const [p, beat, len] of notes) {
    ev.push({ t: beat * 480, o: 2, b: [0x90 | channel, p, 90] });
    ev.push({ t: (beat + len) * 480, o: 1, b: [0x80 | channel, p, 0] });
  }
  ev.sort((a, b) => a.t - b.t || a.o - b.o);
  let body = name ? [0, ...meta(3, name)] : [], now = 0;
  for (const e of ev) {
    body.push(...vlq(e.t - now), ...e.b);
    now = e.t;
  }
  body.push(...vlq(end * 480 - now), 0xff, 0x2f, 0);
  return chunk("MTrk", body);
}
function smf(tracks) {
  return Buffer.from([...chunk("MThd", [0, 1, 0, tracks.length, 1, 0xe0]), ...tracks.flat()]);
}
const TEMPO = [...chunk("MTrk", [0, 0xff, 0x51, 3, 0x07, 0xa1, 0x20, 0, 0xff, 0x2f, 0])];
const CHORDS_FILE = smf([TEMPO, track({ name: "chords", notes: [[62, 0, 4], [65, 0, 4], [69, 0, 4], [67, 4, 4], [71, 4, 4]],
  markers: [[0, "Dm7"], [0, "Dm7", 1], [4, "G7"], [4, "G7", 1]], end: 8 })]);

function plain(v) {
  return JSON.parse(JSON.stringify(v));
}

// A Set: an audio track, a MIDI track "Keys" whose slot 0 holds the clip "Lead Line", an empty MIDI track.
function harmonySet(extra = {}) {
  const lead = { audio: false, name: "Lead Line", looping: true, loop_start: 4, loop_end: 12, length: 12,
    notes: [{ pitch: 60, start_time: 2, duration: 1, velocity: 100 }, // before the loop: not sent
      { pitch: 64, start_time: 4, duration: 1, velocity: 90 }, { pitch: 67, start_time: 5.5, duration: 0.5, velocity: 80 },
      { pitch: 72, start_time: 8, duration: 2, velocity: 70, mute: 1 }] };
  return { tracks: [{ name: "Beats", kind: "audio", slots: [null, null] }, { name: "Keys", kind: "midi", slots: [lead, null] },
    { name: "Pad", kind: "midi", slots: [null, null] }], detail: { track: 1, slot: 0 }, highlighted: { track: 1, slot: 0 }, ...extra };
}

function device(setOpts, files = {}) {
  const d = connected(setOpts, { catalogue: MIDI, readFile: (p) => files[p] });
  d.send("model", 1); // "midi"
  d.send("netready");
  return d;
}

function netSends(d) {
  return d.record.net.filter((m) => m[0] === "send").map((m) => JSON.parse(decodeURIComponent(m[1])));
}

test("MIDI chords: kind, bars in the meter, tempo, chord symbols from the prompt, complexity from strength", () => {
  const d = device({ tempo: 96, sigNum: 3, sigDen: 4, tracks: [{ name: "Keys", kind: "midi", slots: [null] }] });
  d.send("mode", MODE.chords);
  d.send("bars", 8);
  d.send("strength", 0.25);
  d.send("seed", 11);
  d.send("prompt", "Dm7", "G7", "Cmaj7", "F#m7b5");
  d.send("generate", 1);
  const req = d.lastRequest();
  assert.equal(req[0], "/dawgen/midi/generate");
  assert.deepEqual(pairs(req), [["kind", "chords"], ["bars", 8], ["time_signature", "3/4"], ["chords", "Dm7 G7 Cmaj7 F#m7b5"],
    ["bpm", 96], ["complexity", 0.25], ["seed", 11], ["count", 1], ["model", "midi"], ["reply_port", pairs(req).pop()[1]]]);
  d.send("prompt", "punchy", "kick"); // left over from the audio modes: not chords
  d.send("mode", MODE.bass);
  d.send("generate", 1);
  const bass = new Map(pairs(d.lastRequest()));
  assert.equal(bass.get("kind"), "bass");
  assert.ok(!bass.has("chords") && !bass.has("prompt"), "a prompt that is not symbols is not sent");
  assert.equal(bass.get("density"), 0.25, "lines take the strength as density");
});

test("harmonize clip: the clip's played notes travel as a .mid (input_blob over TCP), nothing over UDP", () => {
  const d = device(harmonySet({ tempo: 100 }));
  d.send("mode", MODE.harmonize4);
  const udp = d.requests().length;
  d.send("generate", 1);
  assert.equal(d.requests().length, udp, "not sent over udpsend");
  const [sent] = netSends(d);
  assert.equal(sent.list[0], "/dawgen/midi/harmonize");
  const p = new Map(pairs(sent.list));
  assert.equal(p.get("input"), "lead-line.mid");
  assert.equal(p.get("voices"), 4);
  assert.equal(p.get("time_signature"), "4/4");
  assert.equal(p.get("bpm"), 100);
  assert.ok(!p.has("bars"), "the result keeps the clip's length");
  assert.deepEqual({ key: sent.upload.key, name: sent.upload.name }, { key: "input", name: "lead-line.mid" });
  const parsed = d.context.DG.parseMidi(Array.from(Buffer.from(sent.upload.base64, "base64")));
  assert.deepEqual(plain(parsed.notes).map((n) => [n.pitch, n.start_time, n.duration, n.velocity]), [[64, 0, 1, 90], [67, 1.5, 0.5, 80]],
    "the loop's notes from beat 0; the muted one and the one before the loop are left out");
  assert.equal(parsed.lengthBeats, 8, "the file is exactly the loop's length");
  assert.equal(parsed.trackList[0].name, "Lead Line");
  const call = d.set.log.find((l) => l.fn === "get_notes_extended");
  assert.deepEqual(call.args, [0, 128, 4, 8]);
});

test("clip modes refuse in words: no clip, an audio clip, a clip without notes", () => {
  const none = device(harmonySet({ detail: null }));
  none.send("mode", MODE.bassline);
  none.send("generate", 1);
  assert.match(none.shown("status"), /^Select a MIDI clip of chords first: bass for clip/);
  const audio = device({ tracks: [{ name: "Vox", kind: "audio", slots: [{ audio: true, file_path: "/a.wav", name: "a" }] }],
    detail: { track: 0, slot: 0 } });
  audio.send("mode", MODE.harmonize);
  audio.send("generate", 1);
  assert.match(audio.shown("status"), /audio clip; harmonize clip needs a MIDI clip holding a melody/);
  const empty = harmonySet();
  empty.tracks[1].slots[0].notes = [];
  const e = device(empty);
  e.send("mode", MODE.improvise);
  e.send("generate", 1);
  assert.match(e.shown("status"), /"Lead Line" has no notes/);
  for (const d of [none, audio, e]) assert.equal(netSends(d).length, 0);
});

function finish(d, jobId, paths) {
  const [sent] = netSends(d).slice(-1);
  d.osc("/dawgen/ack", sent.id, jobId, 0);
  d.osc("/dawgen/done", jobId, ...paths);
}

test("bass for clip: a new MIDI track after the clip's, the clip in its scene row, named with its chords", () => {
  const files = { "/o/lead-line_bass_3.mid": CHORDS_FILE };
  const d = device(harmonySet(), files);
  d.send("mode", MODE.bassline);
  d.send("generate", 1);
  finish(d, "jb", ["/o/lead-line_bass_3.mid"]);
  const names = d.set.tracks.map((t) => t.name);
  assert.deepEqual(names, ["Beats", "Keys", "Lead Line bass", "Pad"]);
  const clip = d.set.tracks[2].slots[0];
  assert.equal(clip.name, "lead-line_bass_3 · Dm7 G7", "symbols once each, from the markers");
  assert.equal(clip.length, 8, "the clip's loop length");
  assert.deepEqual(clip.notes.map((n) => [n.pitch, n.start_time]), [[62, 0], [65, 0], [69, 0], [67, 4], [71, 4]]);
  assert.equal(d.shown("status"), "Done: 1 MIDI clip → Lead Line bass slot 1.");
});

test("a clip in Arrangement: the result starts at the clip's start on the new track", () => {
  const set = harmonySet({ version: [12, 2, 0], focused: "Arranger" });
  set.tracks[1].arrangement = [{ ...set.tracks[1].slots[0], start_time: 16, end_time: 24 }];
  set.detail = { track: 1, arrangement: 0 };
  const d = device(set, { "/o/c.mid": CHORDS_FILE });
  d.send("mode", MODE.harmonize);
  d.send("generate", 1);
  finish(d, "jh", ["/o/c.mid"]);
  assert.equal(d.set.tracks[2].name, "Lead Line chords");
  assert.deepEqual(d.set.log.find((l) => l.fn === "create_midi_clip").args, [16, 8]);
});

test("MIDI trio: each of the file's tracks on its own new MIDI track, count 2 in two scene rows", () => {
  const trio = (shift) => smf([TEMPO,
    track({ name: "melody", notes: [[72 + shift, 0, 1]], markers: [[0, "C"], [4, "Am"]] }),
    track({ name: "bass", notes: [[36 + shift, 0, 2]] }),
    track({ name: "drums", channel: 9, notes: [[36, 0, 0.25], [38, 1, 0.25]] })]);
  const files = { "/o/trio_1.mid": trio(0), "/o/trio_2.mid": trio(2) };
  const d = device({ tracks: [{ name: "Beats", kind: "audio", slots: [null, null] }, { name: "Pad", kind: "midi", slots: [null, null] }],
    highlighted: { track: 0, slot: 0 } }, files);
  d.send("mode", MODE.trio);
  d.send("bars", 4);
  d.send("count", 2);
  d.send("generate", 1);
  const req = d.lastRequest();
  assert.equal(new Map(pairs(req)).get("kind"), "trio");
  d.osc("/dawgen/ack", req[1], "jt", 0);
  d.osc("/dawgen/done", "jt", "/o/trio_1.mid", "/o/trio_2.mid");
  assert.deepEqual(d.set.tracks.map((t) => t.name), ["Beats", "melody", "bass", "drums", "Pad"]);
  for (const [t, pitch] of [[1, 72], [2, 36]]) {
    assert.deepEqual(d.set.tracks[t].slots.map((c) => c.notes[0].pitch), [pitch, pitch + 2], "variation 2 in the next row");
  }
  assert.equal(d.set.tracks[1].slots[0].name, "trio_1 melody · C Am");
  assert.equal(d.set.tracks[3].slots[0].notes.length, 2);
  assert.equal(d.set.tracks[3].slots[0].length, 16, "4 bars");
  assert.match(d.shown("status"), /^Done: 6 MIDI clips → melody slot 1, melody slot 2, bass slot 1/);
});

test("the reader keeps each track's notes and name, and prefers markers to text for chord symbols", () => {
  const d = device(harmonySet());
  const onlyText = d.context.DG.parseMidi(Array.from(smf([track({ name: "x", notes: [[60, 0, 1]], markers: [[2, "F", 1], [0, "C", 1]] })])));
  assert.deepEqual(plain(onlyText.chords), [{ beat: 0, symbol: "C" }, { beat: 2, symbol: "F" }]);
  const parsed = d.context.DG.parseMidi(Array.from(CHORDS_FILE));
  assert.deepEqual(plain(parsed.trackList).map((t) => [t.name, t.notes.length]), [["", 0], ["chords", 5]]);
  assert.deepEqual(plain(parsed.chords), [{ beat: 0, symbol: "Dm7" }, { beat: 4, symbol: "G7" }]);
});

test("base64 and the writer agree with Node's own decoding, for every length mod 3", () => {
  const d = device(harmonySet());
  for (const n of [0, 1, 2, 3, 4, 5, 255]) {
    const bytes = Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
    assert.deepEqual([...Buffer.from(d.context.DG.base64(bytes), "base64")], bytes);
    assert.equal(d.context.DG.base64(bytes), Buffer.from(bytes).toString("base64"));
  }
  const bytes = d.context.DG.writeMidi({ name: "Ünïcode", notes: [{ pitch: 60, start_time: 0, duration: 1, velocity: 100 },
    { pitch: 60, start_time: 1, duration: 1, velocity: 100 }], lengthBeats: 3 }, { tempo: 90, sigNum: 7, sigDen: 8 });
  const parsed = d.context.DG.parseMidi(bytes);
  assert.deepEqual(plain(parsed.notes).map((n) => [n.start_time, n.duration]), [[0, 1], [1, 1]], "a repeated note is not cut");
  assert.equal(parsed.trackList[0].name, "Ünïcode");
  const buf = Buffer.from(bytes);
  const at = buf.indexOf(Buffer.from([0xff, 0x58, 4]));
  assert.deepEqual([...buf.subarray(at + 3, at + 5)], [7, 3], "7/8");
  const tempoAt = buf.indexOf(Buffer.from([0xff, 0x51, 3]));
  assert.equal(buf.readUIntBE(tempoAt + 3, 3), Math.round(60000000 / 90));
});

test("every harmony mode's request matches docs/PROTOCOL.md's table for its address", () => {
  const tables = protocolTables();
  const verbs = {};
  for (const verb of ["midi/generate", "midi/harmonize", "midi/bassline", "midi/improvise"]) {
    assert.ok(tables[`/dawgen/${verb}`], `/dawgen/${verb} is documented`);
    verbs[verb] = params(Object.keys(tables[`/dawgen/${verb}`])); // the model declares what the document lists
  }
  const d = connected(harmonySet(), { catalogue: [{ name: "midi", backend: "midi", verbs }] });
  d.send("model", 1);
  d.send("netready");
  d.send("prompt", "Am", "F", "C", "G");
  d.send("strength", 0.6);
  d.send("count", 2);
  d.send("seed", 7);
  const built = [];
  for (const mode of Object.values(MODE)) {
    d.send("mode", mode);
    d.send("generate", 1);
    const sent = netSends(d);
    built.push(mode >= MODE.bassline ? sent[sent.length - 1].list : d.lastRequest());
  }
  assert.equal(new Set(built.map((r) => r[1])).size, Object.keys(MODE).length, "one request per mode");
  let checked = 0;
  for (const req of built) {
    const table = tables[req[0]];
    for (const [name, value] of pairs(req)) {
      const spec = table[name];
      assert.ok(spec, `${req[0]}: ${name} is not in docs/PROTOCOL.md`);
      if (spec.type === "int") assert.ok(Number.isInteger(value), `${req[0]} ${name}=${value} must be an int`);
      if (spec.type === "float") assert.equal(typeof value, "number", `${name} must be a number`);
      if (spec.type === "str") assert.equal(typeof value, "string", `${name} must be a string`);
      if (spec.min !== undefined) assert.ok(value >= spec.min && value <= spec.max, `${name}=${value} out of range`);
      if (spec.choices) assert.ok(spec.choices.includes(String(value)), `${req[0]} ${name}=${value} not a choice`);
      checked += 1;
    }
  }
  assert.ok(checked >= 60, `checked ${checked} parameters`);
  const kinds = built.filter((r) => r[0] === "/dawgen/midi/generate").map((r) => new Map(pairs(r)).get("kind"));
  assert.deepEqual(kinds, ["chords", "bass", "piano", "trio"]);
});

test("with the default model chosen, the parameters of the model the daemon will pick for the verb are sent", () => {
  const catalogue = [{ name: "synth", backend: "synth", default: true, verbs: { generate: params(["prompt"]) } }, ...MIDI];
  const d = connected({ tracks: [{ name: "Keys", kind: "midi", slots: [null] }] }, { catalogue });
  d.send("mode", MODE.chords);
  d.send("prompt", "Dm7", "G7");
  d.send("generate", 1);
  const sent = new Map(pairs(d.lastRequest()));
  assert.equal(sent.get("chords"), "Dm7 G7", "midi declares chords for midi/generate: sent");
  assert.equal(sent.get("time_signature"), "4/4");
  assert.ok(!sent.has("model"), "no model named: the daemon picks");
  const d2 = connected({ tracks: [{ name: "Keys", kind: "midi", slots: [null] }] }, { catalogue: catalogue.slice(0, 1) });
  d2.send("mode", MODE.chords);
  d2.send("prompt", "Dm7", "G7");
  d2.send("generate", 1);
  assert.deepEqual(pairs(d2.lastRequest()).map((p) => p[0]), ["kind", "bars", "bpm", "seed", "count", "reply_port"],
    "no model does the verb: only the documented conventions");
});
