// A fake Live Set behind a fake LiveAPI, strict on purpose: a path, property or function that the
// real Live Object Model does not have (or not in the Live version being faked) throws, so a test
// fails when the device uses an API that would not work in that Live.
"use strict";

const fs = require("fs");

// Functions that appeared in later Live versions: [object kind, function] -> first version.
const SINCE = {
  "slot.create_audio_clip": [12, 0, 5],
  "track.create_audio_clip": [12, 0, 5],
  "track.create_midi_clip": [12, 1, 10],
  "clip.add_new_notes": [11, 0, 0],
};

function atLeast(v, want) {
  for (let i = 0; i < 3; i++) if (v[i] !== want[i]) return v[i] > want[i];
  return true;
}

class LiveSet {
  // tracks: [{name, kind: "audio"|"midi"|"group", slots: [clip|null], arrangement: [clip]}]
  // clip: {audio, file_path, name, start_time, end_time, notes}
  constructor(opts = {}) {
    this.version = opts.version || [12, 1, 5];
    this.tempo = opts.tempo || 120;
    this.sigNum = opts.sigNum || 4;
    this.sigDen = opts.sigDen || 4;
    this.songTime = opts.songTime || 0;
    this.focused = opts.focused || "Session";
    this.tracks = opts.tracks || [{ name: "Audio", kind: "audio", slots: [null, null], arrangement: [] }];
    this.highlighted = opts.highlighted === undefined ? { track: 0, slot: 0 } : opts.highlighted;
    this.selectedTrack = opts.selectedTrack === undefined ? 0 : opts.selectedTrack;
    this.detail = opts.detail || null; // {track, slot} or {track, arrangement: index}
    this.checkFiles = Boolean(opts.checkFiles); // real Live refuses paths that are not audio files
    this.audioBeats = opts.audioBeats || (() => 4); // length of an audio file on the timeline
    this.log = []; // every call and set: {path, fn, args}
    this.observers = [];
    this.ids = new Map();
    this.objects = new Map();
    for (const t of this.tracks) {
      t.arrangement = t.arrangement || [];
      for (const c of [...t.slots, ...t.arrangement]) if (c) c.notes = c.notes || [];
    }
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

  // Canonical path of a node, as LiveAPI.unquotedpath gives it.
  resolve(path) {
    const p = String(path).trim();
    let m;
    if (p === "live_app") return { kind: "app", path: p };
    if (p === "live_app view") return { kind: "appview", path: p };
    if (p === "live_set") return { kind: "song", path: p };
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
      if (!m[3]) return { kind: "slot", path: p, obj: track.slots, ...slot, key: `${slot.track}:${slot.slot}` };
      const clip = track.slots[slot.slot];
      return clip ? { kind: "clip", path: p, obj: clip, ...slot } : null;
    }
    if ((m = /^live_set tracks (\d+) arrangement_clips (\d+)$/.exec(p))) {
      const track = this.tracks[Number(m[1])];
      const clip = track && track.arrangement[Number(m[2])];
      return clip ? { kind: "clip", path: p, obj: clip, track: Number(m[1]) } : null;
    }
    throw new Error(`fake LiveAPI: no such path ${JSON.stringify(p)}`);
  }

  locate(obj) {
    for (let t = 0; t < this.tracks.length; t++) {
      const track = this.tracks[t];
      if (obj === track) return this.resolve(`live_set tracks ${t}`);
      const s = track.slots.indexOf(obj);
      if (s >= 0) return this.resolve(`live_set tracks ${t} clip_slots ${s} clip`);
      const a = track.arrangement.indexOf(obj);
      if (a >= 0) return this.resolve(`live_set tracks ${t} arrangement_clips ${a}`);
    }
    return null;
  }

  requireVersion(key) {
    const since = SINCE[key];
    if (since && !atLeast(this.version, since)) {
      throw new Error(`fake LiveAPI: ${key} does not exist in Live ${this.version.join(".")}`);
    }
  }

  get(node, prop) {
    const v = (x) => [x];
    const t = node.kind === "track" ? node.obj : null;
    const table = {
      song: { tempo: () => v(this.tempo), signature_numerator: () => v(this.sigNum),
        signature_denominator: () => v(this.sigDen), current_song_time: () => v(this.songTime) },
      appview: { focused_document_view: () => v(this.focused) },
      track: { name: () => v(t.name), has_audio_input: () => v(t.kind === "audio" ? 1 : 0),
        has_midi_input: () => v(t.kind === "midi" ? 1 : 0), is_foldable: () => v(t.kind === "group" ? 1 : 0) },
      slot: { has_clip: () => v(this.tracks[node.track].slots[node.slot] ? 1 : 0) },
      clip: { is_audio_clip: () => v(node.obj.audio ? 1 : 0), is_midi_clip: () => v(node.obj.audio ? 0 : 1),
        name: () => v(node.obj.name || ""), start_time: () => v(node.obj.start_time || 0),
        end_time: () => v(node.obj.end_time || 0),
        file_path: () => {
          if (!node.obj.audio) throw new Error("fake LiveAPI: file_path only exists on audio clips");
          return v(node.obj.file_path);
        } },
    };
    const getter = table[node.kind] && table[node.kind][prop];
    if (!getter) throw new Error(`fake LiveAPI: no property ${prop} on ${node.kind}`);
    return getter();
  }

  set(node, prop, value) {
    this.log.push({ path: node.path, fn: `set ${prop}`, args: [value] });
    if ((node.kind === "track" || node.kind === "clip") && prop === "name") {
      node.obj.name = String(value);
      return;
    }
    throw new Error(`fake LiveAPI: cannot set ${prop} on ${node.kind}`);
  }

  call(node, fn, args) {
    this.log.push({ path: node.path, fn, args });
    this.requireVersion(`${node.kind}.${fn}`);
    const handler = this.calls[`${node.kind}.${fn}`];
    if (!handler) throw new Error(`fake LiveAPI: no function ${fn} on ${node.kind}`);
    return handler.call(this, node, ...args);
  }

  checkAudio(path) {
    if (typeof path !== "string" || !path) throw new Error("fake LiveAPI: create_audio_clip needs a path");
    if (this.checkFiles && !fs.existsSync(path)) {
      throw new Error("The provided path does not appear to point to a valid audio file");
    }
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
  "song.create_scene"(node, index) {
    for (const t of this.tracks) t.slots.splice(index < 0 ? t.slots.length : index, 0, null);
  },
  "slot.create_audio_clip"(node, path) {
    const track = this.tracks[node.track];
    if (track.kind !== "audio") throw new Error("Audio clips can only be created on audio tracks");
    if (track.slots[node.slot]) throw new Error("Clip slot is not empty");
    this.checkAudio(path);
    track.slots[node.slot] = { audio: true, file_path: path, name: path.split(/[\\/]/).pop(), notes: [] };
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
    this.checkAudio(path);
    const beats = this.audioBeats(path);
    node.obj.arrangement.push({ audio: true, file_path: path, start_time: position, end_time: position + beats, notes: [] });
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
};

// new LiveAPI(path) or new LiveAPI(callback, path), as Max's js object offers it.
function makeLiveAPI(set) {
  return function LiveAPI(a, b) {
    const callback = typeof a === "function" ? a : null;
    const path = callback ? b : a;
    const node = set.resolve(path);
    this.id = node && node.obj ? String(set.idOf(node.kind === "slot" ? `${node.key}` : node.obj)) : node ? "1" : "0";
    this.unquotedpath = node ? node.path : "";
    this.path = node ? `"${node.path}"` : "";
    const need = () => {
      if (!node) throw new Error(`fake LiveAPI: ${path} refers to nothing (id 0)`);
      return node;
    };
    this.get = (prop) => set.get(need(), prop);
    this.set = (prop, value) => set.set(need(), prop, value);
    this.call = (fn, ...args) => set.call(need(), fn, args);
    this.getcount = (child) => {
      const n = need();
      if (n.kind === "track" && child === "clip_slots") return n.obj.slots.length;
      if (n.kind === "track" && child === "arrangement_clips") return n.obj.arrangement.length;
      throw new Error(`fake LiveAPI: no children ${child} on ${n.kind}`);
    };
    Object.defineProperty(this, "property", {
      set(prop) {
        if (!callback) throw new Error("fake LiveAPI: property needs a callback");
        set.observers.push({ prop, callback });
        callback([prop, set.get(need(), prop)[0]]); // Max reports the current value at once
      },
    });
  };
}

module.exports = { LiveSet, makeLiveAPI };
