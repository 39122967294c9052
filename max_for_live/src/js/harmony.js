// The harmony modes (issue #26): chords, a bass line, a piano part or a trio from nothing, and bass,
// chords (or four voices) or a melody for the selected MIDI clip.
//
// - Requests: `midi/generate kind=chords|bass|piano|trio`, `midi/bassline`, `midi/harmonize`,
//   `midi/improvise` (docs/PROTOCOL.md). Chord symbols typed in the prompt box ("Dm7 G7 Cmaj7 Cmaj7")
//   go as `chords=`; the strength control is `complexity` for chords and `density` for lines.
// - The selected clip is read through the Live API (Clip.get_notes_extended, Live 11+), written as a
//   .mid (smfwrite.js) and uploaded as `input_blob` over TCP: a Live MIDI clip has no file to name.
// - Results for a clip go on a new MIDI track after the clip's track, lined up with the clip (in its
//   scene row, or at its start); a trio file's three tracks (melody, bass, drums) become three new
//   MIDI tracks. Every clip is named with its chord symbols (the file's marker/text events).
(function (DG) {
    var Live = DG.Live, Device = DG.Device;
    var num = Live.num, text = Live.text, exists = Live.exists;
    var MAX_NAMED_CHORDS = 16; // a clip name holds the first 16 symbols, then "…"

    // The prompt as chord symbols, or "" when it does not read as symbols (a prompt left over from the
    // audio modes is not sent as chords). Each word: a root A-G, an accidental, anything after it.
    DG.chordText = function (prompt) {
        var words = DG.trim(prompt).split(/\s+/);
        if (!words[0]) {
            return "";
        }
        for (var i = 0; i < words.length; i++) {
            if (!/^[A-G][#b\u266f\u266d]?[A-Za-z0-9#b+\-\u00f8\u00b0\u0394()\/]*$/.test(words[i])) {
                return "";
            }
        }
        return words.join(" ");
    };

    // [name, value, onlyIfDeclared] pairs of a harmony mode, before seed and count (requests.js).
    DG.harmonyPairs = function (mode, s, ctx, declared) {
        var pairs = [], chords = DG.chordText(s.prompt), amount = DG.round6(s.strength);
        if (mode.clipInput) {
            pairs.push(["input", ctx.clip.upload.name]);
            if (mode.voices) {
                pairs.push(["voices", mode.voices]);
            }
            pairs.push(["time_signature", ctx.sigNum + "/" + ctx.sigDen, true]); // the clip's meter
        } else {
            pairs.push(["kind", mode.midiKind]);
            pairs = pairs.concat(DG.lengthPairs(ctx, s.bars, declared, false));
            if (chords) {
                pairs.push(["chords", chords, true]);
            }
        }
        pairs.push(["bpm", ctx.tempo]);
        var lines = mode.key === "bass" || mode.key === "bassline" || mode.key === "improvise";
        pairs.push([lines ? "density" : "complexity", amount, true]);
        return pairs;
    };

    DG.midiClipProblem = function (mode, clip) {
        var what = mode.clipInput === "melody" ? "a MIDI clip holding a melody" : "a MIDI clip of chords";
        if (!clip) {
            return "Select " + what + " first: " + mode.label + " works on the clip shown in Clip View.";
        }
        if (clip.audio) {
            return "The selected clip is an audio clip; " + mode.label + " needs " + what + ".";
        }
        if (!clip.upload) {
            return "Live " + (clip.tooOld || "") + " can't read a clip's notes from a device (needs Live 11 or newer).";
        }
        if (!clip.upload.notes) {
            return "The selected clip \"" + clip.name + "\" has no notes (muted notes do not count).";
        }
        return "";
    };

    function unmutedCount(notes) {
        var n = 0;
        for (var i = 0; i < notes.length; i++) {
            n += notes[i].mute ? 0 : 1;
        }
        return n;
    }

    // The clip shown in Clip View as what is uploaded: {name (file name), base64, notes (how many),
    // lengthBeats}; notes of the part the clip plays (its loop, or start to end marker), from beat 0.
    Live.prototype.clipUpload = function (clip, song) {
        var api = this.make("live_set view detail_clip");
        if (!exists(api) || !this.features.notes) {
            return null;
        }
        var looping = num(api.get("looping")) === 1;
        var start = num(api.get(looping ? "loop_start" : "start_marker"));
        var end = num(api.get(looping ? "loop_end" : "end_marker"));
        var raw = api.call("get_notes_extended", 0, 128, start, Math.max(end - start, 0.001));
        var dict = typeof raw === "string" ? JSON.parse(raw) : (raw && raw.length ? JSON.parse(text(raw)) : raw);
        var notes = [], list = dict && dict.notes ? dict.notes : [];
        for (var i = 0; i < list.length; i++) {
            var n = list[i];
            notes.push({pitch: n.pitch, start_time: n.start_time - start, duration: n.duration,
                velocity: n.velocity, mute: n.mute ? 1 : 0});
        }
        var stem = DG.slug(clip.name) || "clip";
        var bytes = DG.writeMidi({name: clip.name, notes: notes, lengthBeats: end - start}, song);
        return {name: stem + ".mid", base64: DG.base64(bytes), notes: unmutedCount(notes), lengthBeats: end - start};
    };

    // Where the results of a clip mode or a trio go: new MIDI tracks after the clip's (or the selected)
    // track, in the clip's (or the selected) scene row, or at the clip's start (or the insert marker).
    Live.prototype.newTrackTarget = function (mode, place, clip, song) {
        var where = place === "auto" ? (this.focusedView() === "Arranger" ? "arrangement" : "session") : place;
        var t = {where: where, result: mode.result, beatsPerBar: DG.beatsPerBar(song.sigNum, song.sigDen),
            newMidiTracks: true, trackName: mode.clipInput ? (clip.name || "clip") + " " + mode.newTrack : ""};
        if (where === "off") {
            return t;
        }
        if (where === "arrangement" && !this.features.arrangementMidi) {
            where = t.where = "session"; // Live < 12.1.10 has no Track.create_midi_clip
            t.note = "MIDI goes to Session view on Live " + this.version.text;
        }
        var slot = this.highlightedSlot();
        if (mode.clipInput) {
            t.track = clip.track;
            t.slot = clip.arrangement ? (slot ? slot.slot : 0) : clip.slot;
            t.position = clip.arrangement ? clip.start : song.songTime;
        } else if (where === "session") {
            if (!slot) {
                return {error: "Select a clip slot in Session view (or set Place to arrangement or off)."};
            }
            t.track = slot.track;
            t.slot = slot.slot;
        } else {
            t.track = this.selectedTrack();
            t.slot = 0;
            t.position = song.songTime;
        }
        if (t.track === undefined || t.track < 0) {
            return {error: "Select a track (or a clip) first."};
        }
        t.trackId = this.trackId(t.track);
        return t;
    };

    Live.prototype.newMidiTrack = function (index, name) {
        return this.newTrack("midi", index, name);  // every part has a name (partsOf)
    };

    // A trio's files split by note track: [{name, files}] in the file's track order (the tempo track
    // and other note-less tracks are left out); each part keeps the whole file's length.
    function partsOf(files) {
        var parts = [];
        for (var i = 0; i < files.length; i++) {
            var tracks = files[i].parsed.trackList || [], k = 0;
            for (var j = 0; j < tracks.length; j++) {
                if (!tracks[j].notes.length) {
                    continue;
                }
                var name = tracks[j].name || "part " + (k + 1);
                parts[k] = parts[k] || {name: name, files: []};
                parts[k].files.push({path: files[i].path, name: DG.midiClipName(files[i].path, files[i].parsed, " " + name),
                    parsed: {notes: tracks[j].notes, lengthBeats: files[i].parsed.lengthBeats}});
                k += 1;
            }
        }
        return parts;
    }

    Live.prototype.placeOnNewTracks = function (target, files) {
        var out = {placed: [], unplaced: [], problems: []}, i;
        if (target.where === "off" || !this.features.notes) {
            for (i = 0; i < files.length; i++) {
                out.unplaced.push(files[i].path);
            }
            out.blocked = target.where === "off" ? "Place is off" :
                "Live " + this.version.text + " has no Clip.add_new_notes (needs Live 11 or newer)";
            return out;
        }
        var parts = target.trackName ? [{name: target.trackName, files: files}] : partsOf(files);
        var after = this.trackNow(target);
        for (i = 0; i < parts.length; i++) {
            var index;
            try {
                index = this.newMidiTrack(after + 1 + i, parts[i].name);
            } catch (err) {
                out.problems.push(err.message);
                break;
            }
            var sub = {where: target.where, track: index, trackId: 0, slot: target.slot, position: target.position,
                beatsPerBar: target.beatsPerBar, requestedBeats: target.requestedBeats};
            var res = this.placeMidi(sub, parts[i].files);
            out.placed = out.placed.concat(res.placed);
            out.problems = out.problems.concat(res.problems);
            for (var u = 0; u < res.unplaced.length; u++) {
                if (out.unplaced.indexOf(res.unplaced[u]) < 0) {
                    out.unplaced.push(res.unplaced[u]);
                }
            }
        }
        return out;
    };

    // A result clip's name: the file's name (and `part`, a trio's track), then its chord symbols
    // ("chords_42 · Dm7 G7 Cmaj7").
    DG.midiClipName = function (path, parsed, part) {
        var name = DG.stripExtension(DG.basename(path)) + (part || ""), symbols = [];
        var chords = parsed.chords || [];
        for (var i = 0; i < chords.length && i < MAX_NAMED_CHORDS; i++) {
            symbols.push(chords[i].symbol);
        }
        return symbols.length ? name + " \u00b7 " + symbols.join(" ") + (chords.length > MAX_NAMED_CHORDS ? " \u2026" : "") : name;
    };

    // The selected clip, with what a clip mode uploads (null upload: Live can't read notes).
    Device.prototype.clipForInput = function (song) {
        var clip = this.live.selectedClip();
        if (clip && !clip.audio) {
            clip.upload = this.live.clipUpload(clip, song);
            clip.tooOld = this.live.version.text;
        }
        return clip;
    };
})(DG);
