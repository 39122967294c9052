// /dawgen/done: put the files into the Set where the request said (Device.generate captured the
// target) and tell the producer what happened, in words, with every path in the Max console.
(function (DG) {
    var Device = DG.Device;

    // MIDI results are .mid files; anything else in a MIDI job (an audio preview) is listed only.
    Device.prototype.readMidiFiles = function (paths, problems, extras) {
        var files = [];
        for (var i = 0; i < paths.length; i++) {
            var ext = DG.extension(paths[i]);
            if (ext !== "mid" && ext !== "midi") {
                extras.push(paths[i]);
                continue;
            }
            try {
                var parsed = DG.parseMidi(this.io.readBytes(paths[i]));
                files.push({path: paths[i], parsed: parsed, name: DG.midiClipName(paths[i], parsed)});
            } catch (err) {
                problems.push(DG.basename(paths[i]) + ": " + err.message);
                extras.push(paths[i]);
            }
        }
        return files;
    };

    // The sidecar dawgen writes beside each audio file (<name>.json: the grid, loop or one-shot, the
    // prompt), parsed; null when it can't be read (an older daemon, a file elsewhere).
    Device.prototype.readSidecar = function (path) {
        try {
            var bytes = this.io.readBytes(DG.dirname(path) + "/" + DG.stripExtension(DG.basename(path)) + ".json");
            var chars = [];
            for (var i = 0; i < bytes.length; i++) {
                chars.push(String.fromCharCode(bytes[i]));
            }
            return JSON.parse(decodeURIComponent(escape(chars.join("")))); // UTF-8 bytes -> text
        } catch (err) {
            return null;
        }
    };

    Device.prototype.warpPlans = function (meta, paths) {
        var plans = [];
        for (var i = 0; i < paths.length; i++) {
            plans.push(DG.warpPlan(meta, this.readSidecar(paths[i])));
        }
        return plans;
    };

    Device.prototype.place = function (meta, paths) {
        var target = meta.target, extras = [], problems = [], out;
        if (target.newMidiTracks) {
            out = this.live.placeOnNewTracks(target, this.readMidiFiles(paths, problems, extras));
        } else if (meta.mode.result === "midi") {
            out = this.live.placeMidi(target, this.readMidiFiles(paths, problems, extras));
        } else if (meta.mode.result === "stems") {
            out = this.live.placeStems(target, paths, meta.input);
        } else {
            out = this.live.placeAudio(target, paths, this.warpPlans(meta, paths));
        }
        out.unplaced = out.unplaced.concat(extras);
        out.problems = problems.concat(out.problems);
        return out;
    };

    Device.prototype.deliver = function (job, paths) {
        var meta = job.meta, out;
        for (var i = 0; i < paths.length; i++) {
            this.io.post("dawgen: " + meta.verb + " wrote " + paths[i]);
        }
        try {
            out = this.place(meta, paths);
        } catch (err) {
            out = {placed: [], unplaced: paths.slice(), problems: ["placing failed: " + err.message]};
        }
        if (job === this.active) {
            this.status(summary(meta, paths, out));
            this.detail(paths.length ? "files in " + DG.dirname(paths[0]) : "");
        }
    };

    function summary(meta, paths, out) {
        var n = paths.length, text;
        if (!n) {
            return "Done, but dawgen returned no files.";
        }
        if (out.placed.length) {
            text = "Done: " + DG.plural(out.placed.length, meta.mode.result === "midi" || meta.mode.result === "trio" ? "MIDI clip" : "clip") +
                " → " + out.placed.join(", ") + ".";
        } else {
            text = "Done: " + (n === 1 ? DG.basename(paths[0]) : DG.plural(n, "file")) + ".";
        }
        if (out.unplaced.length) {
            var names = [];
            for (var i = 0; i < out.unplaced.length; i++) {
                names.push(DG.basename(out.unplaced[i]));
            }
            // Older Live (and Place = off): say where the files are and how to reach them in the browser.
            text += " " + (out.blocked ? out.blocked + ". " : "") + "Not placed: " + names.join(", ") +
                " in " + DG.dirname(out.unplaced[0]) + " (in Live's browser: Places › Add Folder…, then drag them in).";
        }
        if (out.problems.length) {
            text += " Problems: " + out.problems.join("; ") + ".";
        }
        return text;
    }
    DG.summary = summary;
})(DG);
