// MIDI results: the .mid reader, and notes written into a new MIDI clip through add_new_notes.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { connected, runJob, LiveSet, loadDevice } = require("./helpers");

function vlq(n) {
  const bytes = [n & 0x7f];
  while ((n >>= 7)) bytes.unshift((n & 0x7f) | 0x80);
  return bytes;
}

function chunk(tag, body) {
  const size = body.length;
  return [...Buffer.from(tag, "ascii"), (size >>> 24) & 255, (size >>> 16) & 255, (size >>> 8) & 255, size & 255, ...body];
}

// A type-1 file as the MIDI backend writes it: a tempo/meter track, then a note track that uses
// running status and note-on with velocity 0 as note-off, on channel 10 (drums).
function drumFile(ppq = 480) {
  const meta = [0, 0xff, 0x51, 3, 0x07, 0xa1, 0x20, 0, 0xff, 0x58, 4, 4, 2, 24, 8, 0, 0xff, 0x2f, 0];
  const notes = [
    ...vlq(0), 0x99, 36, 100,                  // kick on beat 1 (channel 10)
    ...vlq(ppq / 4), 36, 0,                    // running status, velocity 0 = note off
    ...vlq(ppq * 3 / 4), 38, 90,               // snare on beat 2, still running status
    ...vlq(ppq / 4), 0x89, 38, 64,             // a real note-off message
    ...vlq(0), 0xc9, 5,                        // program change: one data byte
    ...vlq(ppq * 7 / 4), 0x99, 42, 70,         // closed hat on beat 4
    ...vlq(ppq / 2), 0x89, 42, 0,
    ...vlq(ppq * 3 / 4), 0xff, 0x2f, 0,        // end of track at beat 4.25
  ];
  return Buffer.from([...chunk("MThd", [0, 1, 0, 2, (ppq >> 8) & 255, ppq & 255]), ...chunk("MTrk", meta), ...chunk("MTrk", notes)]);
}

// Objects made inside the device's context have that context's prototypes: compare plain copies.
function plain(value) {
  return JSON.parse(JSON.stringify(value));
}

function parse(bytes) {
  const d = loadDevice(new LiveSet());
  return d.context.DG.parseMidi(Array.from(bytes));
}

test("reads notes in beats from a type-1 file with running status and velocity-0 note-offs", () => {
  for (const ppq of [96, 480]) {
    const parsed = parse(drumFile(ppq));
    assert.deepEqual(plain(parsed.notes), [
      { pitch: 36, start_time: 0, duration: 0.25, velocity: 100, mute: 0 },
      { pitch: 38, start_time: 1, duration: 0.25, velocity: 90, mute: 0 },
      { pitch: 42, start_time: 3, duration: 0.5, velocity: 70, mute: 0 },
    ]);
    assert.equal(parsed.lengthBeats, 4.25);
    assert.equal(parsed.tracks, 2);
  }
});

test("bad files give a MidiError in words", () => {
  assert.throws(() => parse(Buffer.from("RIFF....")), /not a MIDI file/);
  assert.throws(() => parse(Buffer.from([...chunk("MThd", [0, 0, 0, 1, 0xe7, 0x28])])), /SMPTE/);
  const cut = drumFile().subarray(0, 40);
  assert.throws(() => parse(cut), /ends in the middle of a track/);
});

function withMidiTrack(extra = {}) {
  return { tracks: [{ name: "Drums", kind: "midi", slots: [null, null] }], highlighted: { track: 0, slot: 0 }, ...extra };
}

test("MIDI done: a clip of the asked bars in the selected slot, holding exactly the file's notes", () => {
  const files = { "/o/drums_5.mid": drumFile() };
  const set = new LiveSet(withMidiTrack({ sigNum: 3, sigDen: 4 }));
  const d = loadDevice(set, { readFile: (p) => files[p] });
  d.send("init");
  d.osc("/dawgen/pong", d.lastRequest()[1], "0.1.0");
  d.send("mode", 5);
  d.send("bars", 2);
  d.send("seed", 5);
  runJob(d, "jm", ["/o/drums_5.mid"]);
  const create = set.log.find((l) => l.fn === "create_clip");
  assert.deepEqual(create, { path: "live_set tracks 0 clip_slots 0", fn: "create_clip", args: [6] }, "2 bars of 3/4");
  const clip = set.tracks[0].slots[0];
  assert.equal(clip.name, "drums_5");
  assert.deepEqual(clip.notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity]), [[36, 0, 0.25, 100], [38, 1, 0.25, 90], [42, 3, 0.5, 70]]);
  assert.equal(d.shown("status"), "Done: 1 MIDI clip → Drums slot 1.");
});

test("MIDI longer than the bars asked for: the clip covers every note, in whole bars", () => {
  const files = { "/o/m.mid": drumFile() }; // notes end at beat 4.25
  const d = loadDevice(new LiveSet(withMidiTrack()), { readFile: (p) => files[p] });
  d.send("init");
  d.send("mode", 6);
  d.send("bars", 1);
  runJob(d, "j", ["/o/m.mid"]);
  assert.deepEqual(d.set.log.find((l) => l.fn === "create_clip").args, [8]);
});

test("MIDI in Arrangement view: Track.create_midi_clip on Live 12.1.10+, Session view before", () => {
  const files = { "/o/m.mid": drumFile() };
  const arr = loadDevice(new LiveSet(withMidiTrack({ version: [12, 2, 0], focused: "Arranger", songTime: 8 })),
    { readFile: (p) => files[p] });
  arr.send("init");
  arr.send("mode", 5);
  arr.send("bars", 2);
  runJob(arr, "j", ["/o/m.mid"]);
  assert.deepEqual(arr.set.log.find((l) => l.fn === "create_midi_clip").args, [8, 8]);
  assert.equal(arr.set.tracks[0].arrangement[0].notes.length, 3);

  const old = loadDevice(new LiveSet(withMidiTrack({ version: [11, 3, 0], focused: "Arranger" })), { readFile: (p) => files[p] });
  old.send("init");
  old.send("mode", 5);
  old.send("generate", 1);
  assert.equal(old.shown("detail"), "MIDI goes to Session view on Live 11.3.0");
  const req = old.lastRequest();
  old.osc("/dawgen/ack", req[1], "j", 0);
  old.osc("/dawgen/done", "j", "/o/m.mid");
  assert.equal(old.set.log.filter((l) => l.fn === "create_midi_clip").length, 0);
  assert.equal(old.set.tracks[0].slots[0].notes.length, 3, "Live 11 has add_new_notes");
});

test("MIDI results need a MIDI track; an unreadable file is reported, not fatal", () => {
  const audio = connected();
  audio.send("mode", 5);
  audio.send("generate", 1);
  assert.match(audio.shown("status"), /need a slot on a MIDI track/);

  const d = loadDevice(new LiveSet(withMidiTrack()), { readFile: () => Buffer.from("junk") });
  d.send("init");
  d.send("mode", 6);
  d.send("count", 2);
  runJob(d, "j", ["/o/a.mid", "/o/a_preview.wav"]);
  assert.match(d.shown("status"), /Not placed: a\.mid, a_preview\.wav in \/o .*Problems: a\.mid: not a MIDI file/);
});

test("stems: one new audio track per stem, named after it, in the source clip's row", () => {
  const source = { audio: true, file_path: "/songs/mix.wav", name: "mix" };
  const set = { tracks: [{ name: "Mix", kind: "audio", slots: [null, source] }, { name: "Other", kind: "audio", slots: [null, null] }],
    detail: { track: 0, slot: 1 }, highlighted: { track: 0, slot: 1 } };
  const d = connected(set);
  d.send("mode", 4);
  runJob(d, "js", ["/o/mix/mix_drums.wav", "/o/mix/mix_bass.wav", "/o/mix/mix_vocals.wav", "/o/mix/mix_other.wav"]);
  const names = d.set.tracks.map((t) => t.name);
  assert.deepEqual(names, ["Mix", "drums", "bass", "vocals", "other", "Other"]);
  assert.deepEqual(d.set.tracks.slice(1, 5).map((t) => t.slots[1].file_path),
    ["/o/mix/mix_drums.wav", "/o/mix/mix_bass.wav", "/o/mix/mix_vocals.wav", "/o/mix/mix_other.wav"]);
  assert.match(d.shown("status"), /^Done: 4 clips → drums \(slot 2\), bass \(slot 2\)/);
});

test("stems of an arrangement clip line up with its start", () => {
  const source = { audio: true, file_path: "/songs/mix.wav", name: "mix", start_time: 32, end_time: 64 };
  const d = connected({ tracks: [{ name: "Mix", kind: "audio", slots: [null], arrangement: [source] }],
    detail: { track: 0, arrangement: 0 }, focused: "Arranger" });
  d.send("mode", 4);
  runJob(d, "js", ["/o/mix_drums.wav", "/o/mix_bass.wav"]);
  const calls = d.set.log.filter((l) => l.fn === "create_audio_clip").map((c) => [c.path, ...c.args]);
  assert.deepEqual(calls, [["live_set tracks 1", "/o/mix_drums.wav", 32], ["live_set tracks 2", "/o/mix_bass.wav", 32]]);
});

test("continue: the result goes below the source clip (Session) or right after it (Arrangement)", () => {
  const clip = { audio: true, file_path: "/in/riff.wav", name: "riff" };
  const s = connected({ tracks: [{ name: "Gtr", kind: "audio", slots: [clip, null] }], detail: { track: 0, slot: 0 },
    highlighted: { track: 0, slot: 0 } });
  s.send("mode", 2);
  runJob(s, "j", ["/o/riff_cont.wav"]);
  assert.equal(s.set.tracks[0].slots[1].file_path, "/o/riff_cont.wav");

  const arrClip = { audio: true, file_path: "/in/riff.wav", name: "riff", start_time: 4, end_time: 20 };
  const a = connected({ tracks: [{ name: "Gtr", kind: "audio", slots: [null], arrangement: [arrClip] }],
    detail: { track: 0, arrangement: 0 }, focused: "Arranger", songTime: 100 });
  a.send("mode", 2);
  runJob(a, "j", ["/o/riff_cont.wav"]);
  assert.deepEqual(a.set.log.find((l) => l.fn === "create_audio_clip").args, ["/o/riff_cont.wav", 20]);
});

test("vary in Arrangement view: a new track under the source, variations from the clip's start", () => {
  const arrClip = { audio: true, file_path: "/in/riff.wav", name: "riff", start_time: 4, end_time: 20 };
  const d = connected({ tracks: [{ name: "Gtr", kind: "audio", slots: [null], arrangement: [arrClip] }],
    detail: { track: 0, arrangement: 0 }, focused: "Arranger", audioBeats: () => 16 });
  d.send("mode", 3);
  d.send("count", 2);
  runJob(d, "j", ["/o/v1.wav", "/o/v2.wav"]);
  assert.equal(d.set.tracks[1].name, "riff vary");
  assert.deepEqual(d.set.tracks[1].arrangement.map((c) => [c.file_path, c.start_time]), [["/o/v1.wav", 4], ["/o/v2.wav", 20]]);
});
