// The Live side: reading the Set (tempo, meter, selection) and putting results where the producer works.
//
// Only calls of the Live Object Model are used, through Max's LiveAPI; README.md ("Live Object
// Model") lists every property and function with the Live version it appeared in. Where the running
// Live lacks a call, the result is reported by path instead (see DG.Live.features).
// A LiveAPI call that fails does not throw in Max: Live posts to the console and returns nothing.
// So every lookup is checked for id 0 and every created clip is looked up again before use.
(function (DG) {
    // LiveAPI.get returns a list of atoms; names and paths may come back quoted.
    function atoms(value) {
        if (value === undefined || value === null) {
            return [];
        }
        return typeof value === "object" && value.length !== undefined ? value : [value];
    }

    function num(value) {
        return Number(atoms(value)[0]);
    }

    function text(value) {
        return atoms(value).join(" ").replace(/^"(.*)"$/, "$1");
    }

    function Live(make) {
        this.make = make; // make(path) -> LiveAPI
        this.version = this.readVersion();
        this.features = {
            sessionAudio: this.atLeast(12, 0, 5),
            arrangementAudio: this.atLeast(12, 0, 5),
            arrangementMidi: this.atLeast(12, 1, 10),
            notes: this.atLeast(11, 0, 0)
        };
    }
    DG.Live = Live;

    Live.prototype.readVersion = function () {
        var app = this.make("live_app");
        var v = [num(app.call("get_major_version")), num(app.call("get_minor_version")),
            num(app.call("get_bugfix_version"))];
        return {parts: v, text: v.join(".")};
    };

    Live.prototype.atLeast = function (major, minor, bugfix) {
        var v = this.version.parts, want = [major, minor, bugfix];
        for (var i = 0; i < 3; i++) {
            if (v[i] !== want[i]) {
                return v[i] > want[i];
            }
        }
        return true;
    };

    function exists(api) {
        return Number(api.id) !== 0;
    }
    DG.Live.exists = exists;

    // Does this object have a property or function in the running Live? LiveAPI.info lists them
    // ("property start_time"), so facts we could not check against every Live version are tested
    // at run time rather than assumed.
    Live.prototype.has = function (api, name) {
        var info = String(api.info || "");
        return new RegExp("^(property|function|children|child) " + name + "$", "m").test(info);
    };

    // Where Arrangement results go, read when Generate is pressed. Stopped, current_song_time is the
    // insert marker (where a click or the start of a time selection put it). Playing, it is the moving
    // playhead: then Song.start_time (the insert marker playback started from) when Live has it,
    // else the start of the bar the playhead was in at the press. Either way the position is fixed
    // now, so results that arrive later never land wherever the playhead has moved to since.
    Live.prototype.insertPosition = function (set, beatsPerBar) {
        var playing = num(set.get("is_playing")) === 1;
        if (!playing) {
            return {beats: num(set.get("current_song_time")), from: "insert marker"};
        }
        if (this.has(set, "start_time")) {
            return {beats: num(set.get("start_time")), from: "insert marker"};
        }
        var bar = beatsPerBar || 4;
        return {beats: Math.floor(num(set.get("current_song_time")) / bar + 1e-9) * bar, from: "playhead"};
    };

    Live.prototype.song = function () {
        var set = this.make("live_set");
        if (!exists(set)) {
            throw new Error("live_set is not reachable");
        }
        var out = {
            tempo: num(set.get("tempo")),
            sigNum: num(set.get("signature_numerator")),
            sigDen: num(set.get("signature_denominator"))
        };
        var at = this.insertPosition(set, DG.beatsPerBar(out.sigNum, out.sigDen));
        out.songTime = at.beats;
        out.positionFrom = at.from;
        return out;
    };

    Live.prototype.focusedView = function () {
        return text(this.make("live_app view").get("focused_document_view"));
    };


    // The clip shown in Clip View: {audio, path, name, track, slot | arrangement, start, end}.
    Live.prototype.selectedClip = function () {
        var clip = this.make("live_set view detail_clip");
        if (!exists(clip)) {
            return null;
        }
        var where = String(clip.unquotedpath);
        var out = {audio: num(clip.get("is_audio_clip")) === 1, name: text(clip.get("name"))};
        out.path = out.audio ? text(clip.get("file_path")) : "";
        var session = /tracks (\d+) clip_slots (\d+)/.exec(where);
        var arrangement = /tracks (\d+) arrangement_clips (\d+)/.exec(where);
        if (session) {
            out.track = Number(session[1]);
            out.slot = Number(session[2]);
        } else if (arrangement) {
            out.track = Number(arrangement[1]);
            out.arrangement = true;
            out.start = num(clip.get("start_time"));
            out.end = num(clip.get("end_time"));
        }
        return out;
    };

    Live.prototype.highlightedSlot = function () {
        var slot = this.make("live_set view highlighted_clip_slot");
        var m = exists(slot) && /tracks (\d+) clip_slots (\d+)/.exec(String(slot.unquotedpath));
        return m ? {track: Number(m[1]), slot: Number(m[2])} : null;
    };

    Live.prototype.selectedTrack = function () {
        var track = this.make("live_set view selected_track");
        var m = exists(track) && /^live_set tracks (\d+)$/.exec(String(track.unquotedpath));
        return m ? Number(m[1]) : -1; // return tracks and the master hold no clips
    };

    Live.prototype.trackKind = function (index) {
        var track = this.make("live_set tracks " + index);
        if (!exists(track) || num(track.get("is_foldable")) === 1) {
            return "group";
        }
        return num(track.get("has_midi_input")) === 1 ? "midi" : "audio";
    };

    // Where results of this request will go, decided when Generate is pressed so that clicking
    // elsewhere while the daemon works does not move them. Returns a target or {error}.
    Live.prototype.target = function (mode, place, clip, song) {
        if (mode.newTrack || mode.result === "trio") {
            return this.newTrackTarget(mode, place, clip, song); // harmony.js: results on new MIDI tracks
        }
        var where = place === "auto" ? (this.focusedView() === "Arranger" ? "arrangement" : "session") : place;
        var t = {where: where, result: mode.result, beatsPerBar: DG.beatsPerBar(song.sigNum, song.sigDen)};
        if (where === "off") {
            return t;
        }
        var slot = this.highlightedSlot(), selected = this.selectedTrack();
        var inSession = clip && !clip.arrangement && clip.track !== undefined;
        var inArrangement = clip && clip.arrangement;
        if (mode.result === "stems" || (mode.key === "vary" && where === "arrangement")) {
            t.newTracks = true;
            t.track = clip ? clip.track : selected;
            t.slot = inSession ? clip.slot : (slot ? slot.slot : 0);
            t.position = inArrangement ? clip.start : song.songTime;
            t.namePrefix = mode.key === "vary" ? (clip && clip.name ? clip.name : "dawgen") + " vary" : "";
            if (t.track < 0) {
                return {error: "Select a track (or a clip) first."};
            }
            t.trackId = this.trackId(t.track);
            return t;
        }
        if (where === "arrangement" && mode.result === "midi" && !this.features.arrangementMidi) {
            where = t.where = "session"; // Live < 12.1.10 has no Track.create_midi_clip
            t.note = "MIDI goes to Session view on Live " + this.version.text;
        }
        if (where === "session") {
            var base = (mode.key === "continue" || mode.key === "vary") && inSession ?
                {track: clip.track, slot: clip.slot + 1} : slot;
            if (!base) {
                return {error: "Select a clip slot in Session view (or set Place to arrangement or off)."};
            }
            t.track = base.track;
            t.slot = base.slot;
        } else {
            t.track = mode.key === "continue" && inArrangement ? clip.track : selected;
            t.position = mode.key === "continue" && inArrangement ? clip.end : song.songTime;
            if (t.track < 0) {
                return {error: "Select a track in Arrangement view (or set Place to session or off)."};
            }
        }
        t.trackId = this.trackId(t.track);
        var kind = this.trackKind(t.track), want = mode.result === "midi" ? "midi" : "audio";
        if (kind !== want) {
            return {error: "Results of " + mode.label + " need a slot on " + (want === "midi" ? "a MIDI" : "an audio") +
                " track; track " + (t.track + 1) + " is " + (kind === "group" ? "a group" : "a " + kind) + " track."};
        }
        return t;
    };

    // A track's LOM id: it stays with the track when tracks are added, moved or deleted above it.
    Live.prototype.trackId = function (index) {
        var track = this.make("live_set tracks " + index);
        return exists(track) ? Number(track.id) : 0;
    };

    // The target track's index now (results arrive later; the producer may have moved or deleted
    // tracks meanwhile). Throws with a sentence when the track is gone.
    Live.prototype.trackNow = function (target) {
        if (!target.trackId) {
            return target.track;
        }
        var track = this.make("id " + target.trackId);
        var m = exists(track) && /^live_set tracks (\d+)$/.exec(String(track.unquotedpath));
        if (!m) {
            throw new Error("the target track (track " + (target.track + 1) + " when you pressed Generate) no longer exists");
        }
        return Number(m[1]);
    };

    // n empty clip slots on a track, from `from` downwards; scenes are added when the track runs out.
    Live.prototype.emptySlots = function (track, from, n) {
        var trackApi = this.make("live_set tracks " + track);
        if (!exists(trackApi)) {
            throw new Error("track " + (track + 1) + " does not exist");
        }
        var count = trackApi.getcount("clip_slots"), found = [];
        for (var i = Math.max(0, from); i < count && found.length < n; i++) {
            if (num(this.make("live_set tracks " + track + " clip_slots " + i).get("has_clip")) === 0) {
                found.push(i);
            }
        }
        var song = this.make("live_set");
        while (found.length < n) {
            song.call("create_scene", -1);
            found.push(count++);
        }
        return found;
    };

    // The arrangement clip that starts at `position` on a track (the one just created). With `path`,
    // a clip of that file elsewhere is taken too (Live may snap the start to its grid), the one
    // nearest to `position`.
    Live.prototype.arrangementClipAt = function (track, position, path) {
        var trackApi = this.make("live_set tracks " + track);
        var count = exists(trackApi) ? trackApi.getcount("arrangement_clips") : 0;
        var best = null, bestDistance = Infinity, name = path ? DG.basename(path) : "";
        for (var i = count - 1; i >= 0; i--) { // the newest clip is usually the last
            var clip = this.make("live_set tracks " + track + " arrangement_clips " + i);
            if (!exists(clip)) {
                continue;
            }
            var distance = Math.abs(num(clip.get("start_time")) - position);
            if (distance < 1e-6) {
                return clip;
            }
            if (name && distance < bestDistance && num(clip.get("is_audio_clip")) === 1 &&
                    DG.basename(text(clip.get("file_path"))) === name) {
                best = clip;
                bestDistance = distance;
            }
        }
        return best;
    };

    // A new track of `kind` ("audio" or "midi") at `index`, named when a name is given; its index.
    Live.prototype.newTrack = function (kind, index, name) {
        var set = this.make("live_set"), before = set.getcount("tracks");
        set.call("create_" + kind + "_track", index);
        var track = this.make("live_set tracks " + index);
        if (set.getcount("tracks") !== before + 1 || !exists(track)) {
            throw new Error("Live did not create a new " + (kind === "midi" ? "MIDI" : kind) + " track");
        }
        if (name) {
            track.set("name", name);
        }
        return index;
    };

    Live.prototype.newAudioTrack = function (index, name) {
        return this.newTrack("audio", index, name);
    };

    DG.Live.text = text;
    DG.Live.num = num;
})(DG);
