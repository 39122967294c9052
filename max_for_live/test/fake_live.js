// A fake Live Set behind a fake LiveAPI, strict on purpose, and as close to the real one's failure
// modes as we know them:
// - a path to nothing gives an object with id 0 (LiveAPI does not throw); get/set/call on it do
//   nothing and return undefined, and the fake notes the error as Live posts it to the Max console;
// - a property or function the Live Object Model does not have, or not in the Live version being
//   faked (LOM below, with the version each appeared), THROWS: real Live only posts an error and
//   returns nothing, but a test must fail loudly when the device uses an API that Live lacks;
// - a call Live refuses at run time (a full slot, a file that is not audio, a clip on the wrong
//   kind of track) does NOT throw: Live posts an error, creates nothing and returns nothing, so the
//   device has to look (id != 0, has_clip, the clip on the timeline) to know whether it worked.
// `info` lists the properties and functions of the object for the faked version, as LiveAPI.info does.
"use strict";

const fs = require("fs");

// [kind][name] = first Live version that has it. The device runs on Live 11 and 12; older entries
// say 9 ("there before Live 11"). Versions from Cycling '74's LOM reference and Ableton's release
// notes as we know them; see max_for_live/README.md, "Live Object Model", for what is unverified.
const LOM = {
  app: { functions: { get_major_version: [9], get_minor_version: [9], get_bugfix_version: [9] } },
  appview: { properties: { focused_document_view: [9] } },
  song: {
    properties: { tempo: [9], signature_numerator: [9], signature_denominator: [9], current_song_time: [9],
      is_playing: [9], start_time: [9], loop: [9], loop_start: [9], loop_length: [9], arrangement_overdub: [9],
      song_length: [9] },
    children: { tracks: [9], scenes: [9] },
    functions: { create_audio_track: [9], create_midi_track: [9], create_scene: [9] },
  },
  songview: { properties: { detail_clip: [9], highlighted_clip_slot: [9], selected_track: [9], selected_scene: [9] } },
  track: {
    properties: { name: [9], has_audio_input: [9], has_midi_input: [9], is_foldable: [9] },
    children: { clip_slots: [9], arrangement_clips: [11] },
    functions: { create_audio_clip: [12, 0, 5], create_midi_clip: [12, 1, 10], delete_clip: [11] },
  },
  slot: { properties: { has_clip: [9] }, functions: { create_clip: [9], create_audio_clip: [12, 0, 5], delete_clip: [9] } },
  clip: {
    properties: { name: [9], is_audio_clip: [9], is_midi_clip: [9], file_path: [9], start_time: [9], end_time: [9],
      length: [9], looping: [9], loop_start: [9], loop_end: [9], start_marker: [9], end_marker: [9], warping: [9],
      warp_mode: [9], warp_markers: [11], sample_length: [9] },
    functions: { add_new_notes: [11], get_notes_extended: [11], add_warp_marker: [11], remove_warp_marker: [11] },
  },
};
// Properties that exist only on audio clips (Live posts an error for a MIDI clip).
const AUDIO_ONLY = new Set(["file_path", "warping", "warp_mode", "warp_markers", "sample_length",
  "add_warp_marker", "remove_warp_marker"]);

function atLeast(v, want) {
  for (let i = 0; i < 3; i++) if ((v[i] || 0) !== (want[i] || 0)) return (v[i] || 0) > (want[i] || 0);
  return true;
}

class LiveSet {
  // tracks: [{name, kind: "audio"|"midi"|"group", slots: [clip|null], arrangement: [clip]}]
  // clip: {audio, file_path, name, start_time, end_time, notes, warping, warp_mode, looping, markers}
  // opts.without: ["song.start_time", ...] hides members (an unverified property that may be absent).
  constructor(opts = {}) {
    this.version = opts.version || [12, 1, 5];
    this.tempo = opts.tempo || 120;
    this.sigNum = opts.sigNum || 4;
    this.sigDen = opts.sigDen || 4;
    this.songTime = opts.songTime || 0; // the playhead while playing; the insert marker when stopped
    this.playing = Boolean(opts.playing);
    this.startTime = opts.startTime === undefined ? this.songTime : opts.startTime; // the insert marker
    this.without = new Set(opts.without || []);
    this.focused = opts.focused || "Session";
    this.tracks = opts.tracks || [{ name: "Audio", kind: "audio", slots: [null, null], arrangement: [] }];
    this.highlighted = opts.highlighted === undefined ? { track: 0, slot: 0 } : opts.highlighted;
    this.selectedTrack = opts.selectedTrack === undefined ? 0 : opts.selectedTrack;
    this.detail = opts.detail || null; // {track, slot} or {track, arrangement: index}
    this.checkFiles = Boolean(opts.checkFiles); // real Live refuses paths that are not audio files
    this.audioBeats = opts.audioBeats || (() => 4); // length of an audio file on the timeline
    // Live's auto-warp on import: its guess of the file's beats (often not the bars it holds).
    this.autoWarpBeats = opts.autoWarpBeats || ((path, beats) => beats * 1.02);
    this.log = []; // every call and set: {path, fn, args}
    this.console = []; // what real Live would post to the Max console (errors that do not throw)
    this.observers = [];
    this.ids = new Map();
    this.objects = new Map();
    for (const t of this.tracks) {
      t.arrangement = t.arrangement || [];
      for (const c of [...t.slots, ...t.arrangement]) if (c) c.notes = c.notes || [];
    }
  }

  has(kind, group, name) {
    const since = LOM[kind] && LOM[kind][group] && LOM[kind][group][name];
    return Boolean(since) && atLeast(this.version, since) && !this.without.has(`${kind}.${name}`);
  }

  // LiveAPI.info for one object: "id N", "type K", then one line per member this version has.
  info(node) {
    const lines = [`id ${node.id || 0}`, `type ${node.kind}`];
    for (const group of ["children", "properties", "functions"]) {
      const word = { children: "children", properties: "property", functions: "function" }[group];
      for (const name of Object.keys((LOM[node.kind] || {})[group] || {})) {
        if (this.has(node.kind, group, name)) lines.push(`${word} ${name}`);
      }
    }
    return lines.concat(["done"]).join("\n");
  }

  idOf(obj) {
    if (!this.ids.has(obj)) {
      const id = this.ids.size + 1;
      this.ids.set(obj, id);
      this.objects.set(id, obj);
    }
    return this.ids.get(obj);
  }

  setTempo(bpm) {
    this.tempo = bpm;
    this.notify("tempo", bpm);
  }

  setSignature(num, den) {
    this.sigNum = num;
    this.sigDen = den;
    this.notify("signature_numerator", num);
    this.notify("signature_denominator", den);
  }

  notify(prop, value) {
    for (const o of this.observers) if (o.prop === prop) o.callback([prop, value]);
  }

  // Canonical path of a node, as LiveAPI.unquotedpath gives it; null: nothing there (id 0).
  resolve(path) {
    const p = String(path).trim();
    let m;
    if (p === "live_app") return { kind: "app", path: p };
    if (p === "live_app view") return { kind: "appview", path: p };
    if (p === "live_set") return { kind: "song", path: p };
    if (p === "live_set view") return { kind: "songview", path: p };
    if (p === "live_set view detail_clip") {
      const d = this.detail;
      if (!d) return null;
      return d.arrangement !== undefined
        ? this.resolve(`live_set tracks ${d.track} arrangement_clips ${d.arrangement}`)
        : this.resolve(`live_set tracks ${d.track} clip_slots ${d.slot} clip`);
    }
    if (p === "live_set view highlighted_clip_slot") {
      const h = this.highlighted;
      return h ? this.resolve(`live_set tracks ${h.track} clip_slots ${h.slot}`) : null;
    }
    if (p === "live_set view selected_track") {
      return this.selectedTrack >= 0 ? this.resolve(`live_set tracks ${this.selectedTrack}`) : { kind: "master", path: "live_set master_track" };
    }
    if ((m = /^id (\d+)$/.exec(p))) {
      const obj = this.objects.get(Number(m[1]));
      return obj ? this.locate(obj) : null;
    }
    if ((m = /^live_set tracks (\d+)$/.exec(p))) {
      const track = this.tracks[Number(m[1])];
      return track ? { kind: "track", path: p, obj: track, track: Number(m[1]) } : null;
    }
    if ((m = /^live_set tracks (\d+) clip_slots (\d+)( clip)?$/.exec(p))) {
      const track = this.tracks[Number(m[1])];
      if (!track || Number(m[2]) >= track.slots.length) return null;
      const slot = { track: Number(m[1]), slot: Number(m[2]) };
      if (!m[3]) return { kind: "slot", path: p, obj: this.slotObject(track, slot.slot), ...slot };
      const clip = track.slots[slot.slot];
      return clip ? { kind: "clip", path: p, obj: clip, ...slot } : null;
    }
    if ((m = /^live_set tracks (\d+) arrangement_clips (\d+)$/.exec(p))) {
      if (!this.has("track", "children", "arrangement_clips")) throw new Error(`fake LiveAPI: no arrangement_clips in Live ${this.version.join(".")}`);
      const track = this.tracks[Number(m[1])];
      const clip = track && track.arrangement[Number(m[2])];
      return clip ? { kind: "clip", path: p, obj: clip, track: Number(m[1]) } : null;
    }
    throw new Error(`fake LiveAPI: no such path ${JSON.stringify(p)}`);
  }

  // A stable object per (track, slot index), so a slot keeps its id like Live's do.
  slotObject(track, index) {
    track.slotObjects = track.slotObjects || [];
    track.slotObjects[index] = track.slotObjects[index] || { slotOf: track };
    return track.slotObjects[index];
  }

  locate(obj) {
    for (let t = 0; t < this.tracks.length; t++) {
      const track = this.tracks[t];
      if (obj === track) return this.resolve(`live_set tracks ${t}`);
      const s = track.slots.indexOf(obj);
      if (s >= 0) return this.resolve(`live_set tracks ${t} clip_slots ${s} clip`);
      const so = (track.slotObjects || []).indexOf(obj);
      if (so >= 0 && so < track.slots.length) return this.resolve(`live_set tracks ${t} clip_slots ${so}`);
      const a = track.arrangement.indexOf(obj);
      if (a >= 0) return this.resolve(`live_set tracks ${t} arrangement_clips ${a}`);
    }
    return null;
  }

  member(node, group, name) {
    if (!this.has(node.kind, group, name)) {
      const what = group === "functions" ? "function" : "property";
      throw new Error(`fake LiveAPI: no ${what} ${name} on ${node.kind} in Live ${this.version.join(".")}`);
    }
    if (node.kind === "clip" && AUDIO_ONLY.has(name) && !node.obj.audio) {
      this.console.push(`${name}: only audio clips have it`);
      return false;
    }
    return true;
  }

  get(node, prop) {
    if (!this.member(node, "properties", prop)) return undefined;
    const v = (x) => [x];
    const c = node.kind === "clip" ? node.obj : null;
    const t = node.kind === "track" ? node.obj : null;
    const table = {
      song: { tempo: () => v(this.tempo), signature_numerator: () => v(this.sigNum),
        signature_denominator: () => v(this.sigDen), current_song_time: () => v(this.playing ? this.songTime : this.startTime),
        is_playing: () => v(this.playing ? 1 : 0), start_time: () => v(this.startTime) },
      appview: { focused_document_view: () => v(this.focused) },
      track: { name: () => v(t.name), has_audio_input: () => v(t.kind === "audio" ? 1 : 0),
        has_midi_input: () => v(t.kind === "midi" ? 1 : 0), is_foldable: () => v(t.kind === "group" ? 1 : 0) },
      slot: { has_clip: () => v(this.tracks[node.track].slots[node.slot] ? 1 : 0) },
      clip: { is_audio_clip: () => v(c.audio ? 1 : 0), is_midi_clip: () => v(c.audio ? 0 : 1),
        name: () => v(c.name || ""), start_time: () => v(c.start_time || 0), end_time: () => v(c.end_time || 0),
        file_path: () => v(c.file_path), warping: () => v(c.warping ? 1 : 0), warp_mode: () => v(c.warp_mode || 0),
        looping: () => v(c.looping ? 1 : 0), start_marker: () => v(c.start_marker || 0),
        loop_start: () => v(c.loop_start || 0), loop_end: () => v(c.loop_end === undefined ? c.length || 0 : c.loop_end),
        end_marker: () => v(c.end_marker === undefined ? (c.end_time || 0) - (c.start_time || 0) : c.end_marker),
        // A dict property: LiveAPI hands it over as one JSON text.
        warp_markers: () => v(JSON.stringify({ warp_markers: c.markers || [] })) },
    };
    const getter = table[node.kind] && table[node.kind][prop];
    if (!getter) throw new Error(`fake LiveAPI: ${node.kind}.${prop} exists in Live but is not faked yet`);
    return getter();
  }

  set(node, prop, value) {
    this.log.push({ path: node.path, fn: `set ${prop}`, args: [value] });
    if (!this.member(node, "properties", prop)) return;
    const o = node.obj;
    if ((node.kind === "track" || node.kind === "clip") && prop === "name") {
      o.name = String(value);
    } else if (node.kind === "clip" && ["warping", "looping"].includes(prop)) {
      o[prop] = Number(value) !== 0;
    } else if (node.kind === "clip" && ["warp_mode", "loop_start", "loop_end", "start_marker", "end_marker"].includes(prop)) {
      o[prop] = Number(value);
    } else {
      throw new Error(`fake LiveAPI: cannot set ${prop} on ${node.kind}`);
    }
  }

  call(node, fn, args) {
    this.log.push({ path: node.path, fn, args });
    if (!this.member(node, "functions", fn)) return undefined;
    const handler = this.calls[`${node.kind}.${fn}`];
    if (!handler) throw new Error(`fake LiveAPI: ${node.kind}.${fn} exists in Live but is not faked yet`);
    try {
      return handler.call(this, node, ...args);
    } catch (err) {
      // Live refuses the call: an error in the Max console, nothing made, nothing returned.
      this.console.push(`${fn}: ${err.message}`);
      return undefined;
    }
  }

  audioOk(path) {
    if (typeof path !== "string" || !path) throw new Error("Invalid arguments");
    if (this.checkFiles && !fs.existsSync(path)) {
      throw new Error("The provided path does not appear to point to a valid audio file");
    }
  }

  // A new audio clip as Live makes it from a file: warped with Live's own auto-warp guess.
  audioClip(path, start) {
    const beats = this.audioBeats(path);
    const seconds = beats * 60 / this.tempo;
    const guess = this.autoWarpBeats(path, beats);
    return { audio: true, file_path: path, name: path.split(/[\\/]/).pop().replace(/\.[^.]+$/, ""), notes: [],
      start_time: start, end_time: start + beats, warping: true, warp_mode: 0, looping: false, seconds,
      markers: [{ beat_time: 0, sample_time: 0 }, { beat_time: guess, sample_time: seconds }] };
  }

  scenes() {
    return this.tracks.length ? this.tracks[0].slots.length : 0;
  }
}

LiveSet.prototype.calls = {
  "app.get_major_version"() { return this.version[0]; },
  "app.get_minor_version"() { return this.version[1]; },
  "app.get_bugfix_version"() { return this.version[2]; },
  "song.create_audio_track"(node, index) {
    const track = { name: "Audio", kind: "audio", slots: new Array(this.scenes()).fill(null), arrangement: [] };
    this.tracks.splice(index < 0 ? this.tracks.length : index, 0, track);
  },
  "song.create_midi_track"(node, index) {
    if (!(index >= -1 && index <= this.tracks.length)) throw new Error("Index out of range");
    const track = { name: "MIDI", kind: "midi", slots: new Array(this.scenes()).fill(null), arrangement: [] };
    this.tracks.splice(index < 0 ? this.tracks.length : index, 0, track);
  },
  "song.create_scene"(node, index) {
    for (const t of this.tracks) t.slots.splice(index < 0 ? t.slots.length : index, 0, null);
  },
  "slot.create_audio_clip"(node, path) {
    const track = this.tracks[node.track];
    if (track.kind !== "audio") throw new Error("Audio clips can only be created on audio tracks");
    if (track.slots[node.slot]) throw new Error("Clip slot is not empty");
    this.audioOk(path);
    track.slots[node.slot] = this.audioClip(path, 0);
  },
  "slot.create_clip"(node, length) {
    const track = this.tracks[node.track];
    if (track.kind !== "midi") throw new Error("MIDI clips can only be created on MIDI tracks");
    if (track.slots[node.slot]) throw new Error("Clip slot is not empty");
    if (!(length > 0)) throw new Error("bad clip length");
    track.slots[node.slot] = { audio: false, name: "", length, notes: [] };
  },
  "track.create_audio_clip"(node, path, position) {
    if (node.obj.kind !== "audio") throw new Error("Audio clips can only be created on audio tracks");
    if (typeof position !== "number") throw new Error("Invalid parameter type");
    this.audioOk(path);
    node.obj.arrangement.push(this.audioClip(path, position));
  },
  "track.create_midi_clip"(node, start, length) {
    if (node.obj.kind !== "midi") throw new Error("MIDI clips can only be created on MIDI tracks");
    node.obj.arrangement.push({ audio: false, start_time: start, end_time: start + length, length, notes: [] });
  },
  "clip.add_new_notes"(node, dict) {
    if (node.obj.audio) throw new Error("add_new_notes needs a MIDI clip");
    if (!dict || !Array.isArray(dict.notes)) throw new Error("add_new_notes takes {notes: [...]}");
    for (const n of dict.notes) {
      for (const key of ["pitch", "start_time", "duration", "velocity"]) {
        if (typeof n[key] !== "number") throw new Error(`note ${key} must be a number`);
      }
      node.obj.notes.push({ ...n });
    }
  },
  // Notes starting in [from_time, from_time + time_span) within [from_pitch, from_pitch + pitch_span):
  // a dict, which LiveAPI hands over as one JSON text. Times are the clip's own beats.
  "clip.get_notes_extended"(node, fromPitch, pitchSpan, fromTime, timeSpan) {
    if (node.obj.audio) throw new Error("get_notes_extended needs a MIDI clip");
    for (const a of [fromPitch, pitchSpan, fromTime, timeSpan]) if (typeof a !== "number") throw new Error("Invalid arguments");
    if (!(pitchSpan > 0 && timeSpan > 0)) throw new Error("spans must be above 0");
    const notes = node.obj.notes.filter((n) => n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan &&
      n.start_time >= fromTime - 1e-9 && n.start_time < fromTime + timeSpan);
    return JSON.stringify({ notes: notes.map((n, i) => ({ note_id: i + 1, mute: 0, probability: 1, velocity_deviation: 0,
      release_velocity: 64, ...n })) });
  },
  // {beat_time, sample_time (seconds)}: a marker at that beat (one already there is replaced).
  "clip.add_warp_marker"(node, dict) {
    if (!dict || typeof dict.beat_time !== "number") throw new Error("add_warp_marker takes {beat_time, sample_time}");
    const c = node.obj;
    if (!c.warping) throw new Error("the clip is not warped");
    const sample = typeof dict.sample_time === "number" ? dict.sample_time : dict.beat_time * 60 / this.tempo;
    c.markers = c.markers.filter((m) => Math.abs(m.beat_time - dict.beat_time) > 1e-9);
    c.markers.push({ beat_time: dict.beat_time, sample_time: sample });
    c.markers.sort((a, b) => a.beat_time - b.beat_time);
  },
  "clip.remove_warp_marker"(node, beat) {
    const c = node.obj;
    const before = c.markers.length;
    c.markers = c.markers.filter((m) => Math.abs(m.beat_time - beat) > 1e-9);
    if (c.markers.length === before) throw new Error("no warp marker there");
  },
};

// new LiveAPI(path) or new LiveAPI(callback, path), as Max's js object offers it.
function makeLiveAPI(set) {
  return function LiveAPI(a, b) {
    const callback = typeof a === "function" ? a : null;
    const path = callback ? b : a;
    const node = set.resolve(path);
    this.id = node ? String(node.obj ? set.idOf(node.obj) : 1) : "0";
    if (node) node.id = this.id;
    this.unquotedpath = node ? node.path : "";
    this.path = node ? `"${node.path}"` : "";
    this.type = node ? node.kind : "";
    this.info = node ? set.info(node) : "No object";
    // id 0: Live posts "no valid object id" and returns nothing; it does not throw.
    const live = (what, fn) => {
      if (!node) {
        set.console.push(`${what}: no valid object id (${path})`);
        return undefined;
      }
      return fn(node);
    };
    this.get = (prop) => live(`get ${prop}`, (n) => set.get(n, prop));
    this.set = (prop, value) => live(`set ${prop}`, (n) => set.set(n, prop, value));
    this.call = (fn, ...args) => live(`call ${fn}`, (n) => set.call(n, fn, args));
    this.getcount = (child) => live(`getcount ${child}`, (n) => {
      if (!set.has(n.kind, "children", child)) throw new Error(`fake LiveAPI: no children ${child} on ${n.kind}`);
      if (n.kind === "song" && child === "tracks") return set.tracks.length;
      if (n.kind === "song" && child === "scenes") return set.scenes();
      if (n.kind === "track" && child === "clip_slots") return n.obj.slots.length;
      if (n.kind === "track" && child === "arrangement_clips") return n.obj.arrangement.length;
      throw new Error(`fake LiveAPI: children ${child} not faked`);
    });
    Object.defineProperty(this, "property", {
      set(prop) {
        if (!callback) throw new Error("fake LiveAPI: property needs a callback");
        set.observers.push({ prop, callback });
        callback([prop, set.get(node, prop)[0]]); // Max reports the current value at once
      },
    });
  };
}

module.exports = { LiveSet, makeLiveAPI, LOM };
