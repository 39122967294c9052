// Putting finished files into the Live Set: audio clips in slots or on the arrangement timeline,
// stems on new tracks, MIDI files as MIDI clips. Each function returns
// {placed: [where...], unplaced: [path...], problems: [text...]} and never throws for one bad file,
// so the producer always learns where every file is.
(function (DG) {
    var Live = DG.Live;
    var text = Live.text, num = Live.num, exists = Live.exists;
    var NOT_MADE = "Live did not create the clip (is the file readable audio? details in the Max console)";

    function report() {
        return {placed: [], unplaced: [], problems: []};
    }

    function fail(out, path, err) {
        out.unplaced.push(path);
        out.problems.push(DG.basename(path) + ": " + (err && err.message ? err.message : String(err)));
    }

    function trackLabel(live, track) {
        var api = live.make("live_set tracks " + track);
        var name = exists(api) ? text(api.get("name")) : "";
        return name || "track " + (track + 1);
    }

    // A clip in a slot, made from a file; the new clip, or an Error when Live made none.
    Live.prototype.audioClipInSlot = function (track, slot, path) {
        var slotPath = "live_set tracks " + track + " clip_slots " + slot;
        var slotApi = this.make(slotPath);
        if (!exists(slotApi)) {
            throw new Error("clip slot " + (slot + 1) + " of track " + (track + 1) + " does not exist");
        }
        slotApi.call("create_audio_clip", path);
        var clip = this.make(slotPath + " clip");
        if (!exists(clip)) {
            throw new Error(NOT_MADE);
        }
        return clip;
    };

    Live.prototype.audioClipOnTimeline = function (track, position, path) {
        var trackApi = this.make("live_set tracks " + track);
        if (!exists(trackApi)) {
            throw new Error("track " + (track + 1) + " does not exist");
        }
        trackApi.call("create_audio_clip", path, position);
        var clip = this.arrangementClipAt(track, position, path);
        if (!clip) {
            throw new Error(NOT_MADE);
        }
        return clip;
    };

    // Session view: the target slot and the empty slots below it, one file each.
    Live.prototype.toSlots = function (track, target, paths, out, plans) {
        var slots = this.emptySlots(track, target.slot, paths.length);
        var label = trackLabel(this, track);
        for (var i = 0; i < paths.length; i++) {
            try {
                var clip = this.audioClipInSlot(track, slots[i], paths[i]);
                out.placed.push(label + " slot " + (slots[i] + 1));
                this.warpClip(clip, plans && plans[i], out.problems, DG.basename(paths[i]));
            } catch (err) {
                fail(out, paths[i], err);
            }
        }
    };

    // Arrangement view: one file after another from the target position on one track.
    Live.prototype.toTimeline = function (track, position, paths, out, plans) {
        var label = trackLabel(this, track);
        for (var i = 0; i < paths.length; i++) {
            var clip = null;
            try {
                clip = this.audioClipOnTimeline(track, position, paths[i]);
                out.placed.push(label + " at beat " + DG.fmt(num(clip.get("start_time")) + 1, 3));
                this.warpClip(clip, plans && plans[i], out.problems, DG.basename(paths[i]));
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

    // plans: per path, how to warp the new clip (DG.warpPlan), or nothing to leave Live's own.
    Live.prototype.placeAudio = function (target, paths, plans) {
        var out = report(), blocked = this.audioBlocked(target);
        if (blocked) {
            out.unplaced = paths.slice();
            out.blocked = blocked;
            return out;
        }
        var track = this.trackNow(target);
        if (target.newTracks) {
            var index = this.newAudioTrack(track + 1, target.namePrefix);
            this.toTimeline(index, target.position, paths, out, plans);
        } else if (target.where === "session") {
            this.toSlots(track, target, paths, out, plans);
        } else {
            this.toTimeline(track, target.position, paths, out, plans);
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
        var track = this.trackNow(target);
        for (var i = 0; i < paths.length; i++) {
            var stem = DG.stripExtension(DG.basename(paths[i]));
            if (stem.indexOf(prefix) === 0 && stem.length > prefix.length) {
                stem = stem.substring(prefix.length);
            }
            try {
                var index = this.newAudioTrack(track + 1 + i, stem);
                if (target.where === "session") {
                    this.audioClipInSlot(index, target.slot, paths[i]);
                    out.placed.push(stem + " (slot " + (target.slot + 1) + ")");
                } else {
                    this.audioClipOnTimeline(index, target.position, paths[i]);
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
        var track = this.trackNow(target);
        var label = trackLabel(this, track);
        var slots = target.where === "session" ? this.emptySlots(track, target.slot, files.length) : null;
        var position = target.position;
        for (var i = 0; i < files.length; i++) {
            var f = files[i], length = clipLength(target, f.parsed);
            var name = f.name || DG.stripExtension(DG.basename(f.path));
            try {
                var clip;
                if (slots) {
                    var slotPath = "live_set tracks " + track + " clip_slots " + slots[i];
                    this.make(slotPath).call("create_clip", length);
                    clip = this.make(slotPath + " clip");
                    if (!exists(clip)) {
                        throw new Error("Live did not create the MIDI clip (details in the Max console)");
                    }
                    out.placed.push(label + " slot " + (slots[i] + 1));
                } else {
                    this.make("live_set tracks " + track).call("create_midi_clip", position, length);
                    clip = this.arrangementClipAt(track, position);
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
