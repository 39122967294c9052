// Placing results the way real Live behaves (issue 19): the Arrangement position taken at the press,
// failed LiveAPI calls that do not throw, tracks that move meanwhile, warping, and every Live version.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { connected, runJob } = require("./helpers");

const ARR = { focused: "Arranger", selectedTrack: 0 };

function created(d) {
  return d.set.log.filter((l) => l.fn === "create_audio_clip").map((l) => [l.path, ...l.args]);
}

test("Arrangement while playing: results go to the insert marker (Song.start_time), not the playhead", () => {
  const d = connected({ ...ARR, playing: true, songTime: 37.3, startTime: 16 });
  runJob(d, "j", ["/o/a.wav"]);
  assert.deepEqual(created(d), [["live_set tracks 0", "/o/a.wav", 16]]);
});

test("Arrangement while playing, no Song.start_time: the bar the playhead was in, said on the device", () => {
  const d = connected({ ...ARR, playing: true, songTime: 37.3, startTime: 16, without: ["song.start_time"] });
  d.send("generate", 1);
  assert.equal(d.shown("detail"), "Live is playing: results go to bar 10");
  const req = d.lastRequest();
  d.osc("/dawgen/ack", req[1], "j", 0);
  d.set.songTime = 80; // the playhead moves on while the daemon works
  d.osc("/dawgen/done", "j", "/o/a.wav");
  assert.deepEqual(created(d), [["live_set tracks 0", "/o/a.wav", 36]]);
});

test("stopped: the insert marker (current_song_time), read at the press, even when playback starts later", () => {
  const d = connected({ ...ARR, songTime: 8 });
  d.send("generate", 1);
  const req = d.lastRequest();
  d.osc("/dawgen/ack", req[1], "j", 0);
  Object.assign(d.set, { playing: true, songTime: 50, startTime: 12 });
  d.osc("/dawgen/done", "j", "/o/a.wav");
  assert.deepEqual(created(d), [["live_set tracks 0", "/o/a.wav", 8]]);
});

test("Live refuses a clip without an error (not a file, slot taken): the device says so, never 'placed'", () => {
  const d = connected({ checkFiles: true });
  runJob(d, "j", ["/nonexistent/a.wav"]);
  assert.equal(d.set.tracks[0].slots[0], null);
  assert.ok(d.set.console.some((l) => /valid audio file/.test(l)), "Live posted the error to the Max console");
  const status = d.shown("status");
  assert.doesNotMatch(status, /clip →/);
  assert.match(status, /Not placed: a\.wav .*Problems: a\.wav: Live did not create the clip/);
  const arr = connected({ ...ARR, checkFiles: true });
  runJob(arr, "j", ["/nonexistent/a.wav"]);
  assert.match(arr.shown("status"), /^Done: a\.wav\. Not placed: a\.wav .*Live did not create the clip/);
});

test("a track added above the target meanwhile: results still land on the track chosen at the press", () => {
  const tracks = [{ name: "Drums", kind: "audio", slots: [null] }, { name: "Keys", kind: "audio", slots: [null] }];
  const d = connected({ tracks, highlighted: { track: 1, slot: 0 } });
  d.send("generate", 1);
  const req = d.lastRequest();
  d.osc("/dawgen/ack", req[1], "j", 0);
  d.set.tracks.unshift({ name: "New", kind: "audio", slots: [null], arrangement: [] });
  d.osc("/dawgen/done", "j", "/o/a.wav");
  assert.deepEqual(created(d), [["live_set tracks 2 clip_slots 0", "/o/a.wav"]]);
  assert.match(d.shown("status"), /Done: 1 clip → Keys slot 1\./);
});

test("the target track deleted meanwhile: a clear message, and nothing lands on another track", () => {
  const tracks = [{ name: "Drums", kind: "audio", slots: [null] }, { name: "Keys", kind: "audio", slots: [null] }];
  const d = connected({ tracks, highlighted: { track: 1, slot: 0 } });
  d.send("generate", 1);
  d.osc("/dawgen/ack", d.lastRequest()[1], "j", 0);
  d.set.tracks.splice(1, 1);
  d.osc("/dawgen/done", "j", "/o/a.wav");
  assert.deepEqual(created(d), []);
  assert.match(d.shown("status"), /placing failed: the target track \(track 2 when you pressed Generate\) no longer exists/);
});

// The sidecar dawgen writes beside a loop: a 4-bar grid at 120 BPM, 48 kHz.
function sidecar(prompt, extra = {}) {
  return Buffer.from(JSON.stringify({ verb: "generate", params: { prompt }, audio: { sample_rate: 48000, frames: 384000 },
    post: { grid: { bpm: 120, bars: 4, beats: 16, frames: 384000 }, loop: true }, ...extra }));
}

function reader(files) {
  return (p) => {
    if (!(p in files)) throw new Error("ENOENT");
    return files[p];
  };
}

test("a loop: warping on, warp markers exactly at beat 0 and beat 16, Beats mode for drums, loop on", () => {
  const d = connected({ ...ARR, audioBeats: () => 16 }, { readFile: reader({ "/o/drum_loop.json": sidecar("dusty drum loop") }) });
  d.send("mode", 1);
  runJob(d, "j", ["/o/drum_loop.wav"]);
  const clip = d.set.tracks[0].arrangement[0];
  assert.equal(clip.warping, true);
  assert.equal(clip.warp_mode, 0, "Beats");
  assert.deepEqual(clip.markers, [{ beat_time: 0, sample_time: 0 }, { beat_time: 16, sample_time: 8 }]);
  assert.equal(clip.looping, true);
  assert.equal(clip.loop_end, 16);
  assert.deepEqual(d.set.console, []);
});

test("a full-mix loop gets Complex; without a sidecar the request's bars and tempo give the markers", () => {
  const d = connected({ tempo: 90 }, { readFile: reader({ "/o/mix.json": sidecar("lofi piano chords") }) });
  d.send("mode", 1);
  runJob(d, "j", ["/o/mix.wav"]);
  assert.equal(d.set.tracks[0].slots[0].warp_mode, 4, "Complex");
  const bare = connected({ tempo: 90 }, { readFile: reader({}) });
  bare.send("mode", 1);
  bare.send("prompt", "warm pad");
  runJob(bare, "j", ["/o/pad.wav"]);
  const clip = bare.set.tracks[0].slots[0];
  assert.deepEqual(clip.markers, [{ beat_time: 0, sample_time: 0 }, { beat_time: 16, sample_time: 10.666667 }]);
  assert.equal(clip.warp_mode, 4);
});

test("one-shots play as recorded: warping off", () => {
  const oneShot = Buffer.from(JSON.stringify({ post: { grid: null, loop: false }, audio: { sample_rate: 48000, frames: 9000 } }));
  const d = connected({}, { readFile: reader({ "/o/kick.json": oneShot }) });
  runJob(d, "j", ["/o/kick.wav"]);
  assert.equal(d.set.tracks[0].slots[0].warping, false);
  const bare = connected({}, { readFile: reader({}) });
  runJob(bare, "j", ["/o/kick.wav"]);
  assert.equal(bare.set.tracks[0].slots[0].warping, false);
});

// Every mode in both views on the Live versions the device supports: no property or function the
// version lacks is touched (the fake throws), and Live posts no error for the device's own calls.
test("Live 11.0, 11.3, 12.0.0, 12.0.5, 12.1.10, 12.2: whole sessions use only what that Live has", () => {
  for (const version of [[11, 0, 0], [11, 3, 25], [12, 0, 0], [12, 0, 5], [12, 1, 10], [12, 2, 0]]) {
    for (const focused of ["Session", "Arranger"]) {
      const clip = { audio: true, file_path: "/in/take.wav", name: "take", start_time: 0, end_time: 16 };
      const tracks = [{ name: "A", kind: "audio", slots: [clip, null, null], arrangement: [{ ...clip }] },
        { name: "M", kind: "midi", slots: [null, null] }];
      const d = connected({ version, focused, tracks, detail: { track: 0, slot: 0 }, playing: true, songTime: 9 });
      for (const mode of [0, 1, 2, 3, 4]) {
        d.send("mode", mode);
        runJob(d, `j${mode}`, [`/o/r${mode}.wav`]);
        assert.doesNotMatch(d.shown("status"), /placing failed|fake LiveAPI/, `${version} ${focused} mode ${mode}`);
      }
      assert.deepEqual(d.set.console, [], `${version} ${focused}: Live posted no errors`);
    }
  }
});
