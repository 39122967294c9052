// Putting finished files into the Live Set: audio clips in slots or on the arrangement timeline,
// stems on new tracks, MIDI files as MIDI clips. Each function returns
// {placed: [where...], unplaced: [path...], problems: [text...]} and never throws for one bad file,
// so the producer always learns where every file is.
(function (DG) {
    var Live = DG.Live;
    var text = Live.text, num = Live.num;

    function report() {
        return {placed: [], unplaced: [], problems: []};
    }

    function fail(out, path, err) {
        out.unplaced.push(path);
        out.problems.push(DG.basename(path) + ": " + (err && err.message ? err.message : String(err)));
    }

    function trackLabel(live, track) {
        var name = text(live.make("live_set tracks " + track).get("name"));
        return name || "track " + (track + 1);
    }

    // Session view: the target slot and the empty slots below it, one file each.
    Live.prototype.toSlots = function (target, paths, out) {
        var slots = this.emptySlots(target.track, target.slot, paths.length);
        var label = trackLabel(this, target.track);
        for (var i = 0; i < paths.length; i++) {
            try {
                this.make("live_set tracks " + target.track + " clip_slots " + slots[i])
                    .call("create_audio_clip", paths[i]);
                out.placed.push(label + " slot " + (slots[i] + 1));
            } catch (err) {
                fail(out, paths[i], err);
            }
        }
    };

    // Arrangement view: one file after another from the target position on one track.
    Live.prototype.toTimeline = function (track, position, paths, out) {
        var label = trackLabel(this, track);
        for (var i = 0; i < paths.length; i++) {
            var clip = null;
            try {
                this.make("live_set tracks " + track).call("create_audio_clip", paths[i], position);
                out.placed.push(label + " at beat " + DG.fmt(position + 1, 3));
                clip = this.arrangementClipAt(track, position);
            } catch (err) {
                fail(out, paths[i], err);
            }
            if (i + 1 < paths.length && !clip) {
                // Without this clip's end the next one would land on top of it.
                out.problems.push("could not find where " + DG.basename(paths[i]) + " ends on the timeline");
                out.unplaced = out.unplaced.concat(paths.slice(i + 1));
                return;
            }
            position = clip ? num(clip.get("end_time")) : position;
        }
    };

    Live.prototype.audioBlocked = function (target) {
        if (target.where === "off") {
            return "Place is off";
        }
        var ok = target.where === "session" ? this.features.sessionAudio : this.features.arrangementAudio;
        return ok ? "" : "Live " + this.version.text + " can't load files into clips from a device (needs Live 12.0.5 or newer)";
    };

    Live.prototype.placeAudio = function (target, paths) {
        var out = report(), blocked = this.audioBlocked(target);
        if (blocked) {
            out.unplaced = paths.slice();
            out.blocked = blocked;
            return out;
        }
        if (target.newTracks) {
            var index = this.newAudioTrack(target.track + 1, target.namePrefix);
            this.toTimeline(index, target.position, paths, out);
        } else if (target.where === "session") {
            this.toSlots(target, paths, out);
        } else {
            this.toTimeline(target.track, target.position, paths, out);
        }
        return out;
    };

    // Stems: one new audio track per stem right after the source track, named after the stem, in the
    // source clip's scene row (Session) or at its start (Arrangement), so they line up with it.
    Live.prototype.placeStems = function (target, paths, inputPath) {
        var out = report(), blocked = this.audioBlocked(target);
        if (blocked) {
            out.unplaced = paths.slice();
            out.blocked = blocked;
            return out;
        }
        var prefix = DG.stripExtension(DG.basename(inputPath || "")) + "_";
        for (var i = 0; i < paths.length; i++) {
            var stem = DG.stripExtension(DG.basename(paths[i]));
            if (stem.indexOf(prefix) === 0 && stem.length > prefix.length) {
                stem = stem.substring(prefix.length);
            }
            try {
                var index = this.newAudioTrack(target.track + 1 + i, stem);
                if (target.where === "session") {
                    this.make("live_set tracks " + index + " clip_slots " + target.slot).call("create_audio_clip", paths[i]);
                    out.placed.push(stem + " (slot " + (target.slot + 1) + ")");
                } else {
                    this.make("live_set tracks " + index).call("create_audio_clip", paths[i], target.position);
                    out.placed.push(stem + " (beat " + DG.fmt(target.position + 1, 3) + ")");
                }
            } catch (err) {
                fail(out, paths[i], err);
            }
        }
        return out;
    };

    // Clip length in beats: the bars asked for, or whole bars covering every note.
    function clipLength(target, parsed) {
        var bar = target.beatsPerBar || 4;
        var notesBars = Math.ceil(parsed.lengthBeats / bar - 1e-9) * bar;
        return Math.max(target.requestedBeats || 0, notesBars, bar);
    }

    function writeNotes(clip, name, notes) {
        if (notes.length) {
            clip.call("add_new_notes", {notes: notes});
        }
        clip.set("name", name);
    }

    // files: [{path, parsed: DG.parseMidi result}] (unreadable files are reported by the caller).
    Live.prototype.placeMidi = function (target, files) {
        var out = report();
        var blocked = target.where === "off" ? "Place is off" : (this.features.notes ? "" :
            "Live " + this.version.text + " has no Clip.add_new_notes (needs Live 11 or newer)");
        if (blocked) {
            for (var k = 0; k < files.length; k++) {
                out.unplaced.push(files[k].path);
            }
            out.blocked = blocked;
            return out;
        }
        var label = trackLabel(this, target.track);
        var slots = target.where === "session" ? this.emptySlots(target.track, target.slot, files.length) : null;
        var position = target.position;
        for (var i = 0; i < files.length; i++) {
            var f = files[i], length = clipLength(target, f.parsed);
            var name = DG.stripExtension(DG.basename(f.path));
            try {
                var clip;
                if (slots) {
                    var slotPath = "live_set tracks " + target.track + " clip_slots " + slots[i];
                    this.make(slotPath).call("create_clip", length);
                    clip = this.make(slotPath + " clip");
                    out.placed.push(label + " slot " + (slots[i] + 1));
                } else {
                    this.make("live_set tracks " + target.track).call("create_midi_clip", position, length);
                    clip = this.arrangementClipAt(target.track, position);
                    if (!clip) {
                        throw new Error("the new MIDI clip was not found on the timeline");
                    }
                    out.placed.push(label + " at beat " + DG.fmt(position + 1, 3));
                    position += length;
                }
                writeNotes(clip, name, f.parsed.notes);
            } catch (err) {
                fail(out, f.path, err);
            }
        }
        return out;
    };
})(DG);
