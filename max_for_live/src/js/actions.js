// What the buttons do: Generate builds the request for the chosen mode from the Live Set and sends
// it; Cancel stops the job shown; the model menu shows what /dawgen/models listed.
(function (DG) {
    var Device = DG.Device;

    function modelLabel(name) {
        return name ? name : "the default model";
    }

    Device.prototype.generate = function () {
        if (!this.live) {
            this.status("Not ready yet: the device is still loading in Live.");
            return;
        }
        var s = this.settings, mode = DG.MODES[s.mode], song, clip = null, target;
        try {
            song = this.live.song();
            this.song.tempo = song.tempo;
            this.song.sigNum = song.sigNum;
            this.song.sigDen = song.sigDen;
            if (mode.needsClip) {
                clip = this.live.selectedClip();
            } else if (mode.clipInput) {
                clip = this.clipForInput(song); // harmony.js: the clip's notes, as a .mid to upload
            }
        } catch (err) {
            this.status("Could not read the Live Set: " + err.message);
            return;
        }
        var seed = s.seed >= 0 ? s.seed : DG.randomInt(DG.SEED_MAX);
        var built = DG.buildRequest({
            mode: s.mode, settings: s, catalogue: this.catalogue, reqId: this.nextId(),
            replyPort: this.listenPort, seed: seed,
            ctx: {tempo: song.tempo, sigNum: song.sigNum, sigDen: song.sigDen, clip: clip}
        });
        if (!built.ok) {
            this.status(built.error);
            return;
        }
        try {
            target = this.live.target(mode, DG.PLACES[s.place], clip, song);
        } catch (err2) {
            target = {error: "Could not read the selection: " + err2.message};
        }
        if (target.error) {
            this.status(target.error);
            return;
        }
        target.requestedBeats = mode.clipInput ? clip.upload.lengthBeats : (mode.result === "midi" || mode.result === "trio" ?
            s.bars * DG.beatsPerBar(song.sigNum, song.sigDen) : 0);
        var meta = {
            mode: mode, target: target, verb: mode.verb, input: clip ? clip.path : "",
            seed: built.sent.seed === undefined ? null : seed,
            prompt: DG.trim(s.prompt), bpm: song.tempo,
            beats: mode.key === "loop" ? s.bars * DG.beatsPerBar(song.sigNum, song.sigDen) : 0,
            count: built.sent.count === undefined ? 1 : built.sent.count,
            what: mode.verb + " with " + modelLabel(s.model), model: s.model, remote: this.isRemote()
        };
        // A daemon on another computer can't read the clip's file: it travels with the request (TCP).
        // A clip mode's MIDI clip has no file: its notes travel as input_blob (TCP) to any daemon.
        var upload = mode.clipInput ? {key: "input", name: clip.upload.name, base64: clip.upload.base64} :
            (meta.remote && mode.needsClip ? {key: "input", path: clip.path} : null);
        var p = upload ? this.request("job", built.list, meta, "tcp", upload) : this.request("job", built.list, meta);
        this.active = {reqId: p.reqId, meta: meta, finished: false};
        this.progress(0);
        this.status("Sent " + mode.label + " to dawgen…", true);
        this.detail(target.note || (target.where === "arrangement" && song.positionFrom === "playhead" ?
            "Live is playing: results go to bar " + DG.fmt(target.position / target.beatsPerBar + 1, 2) : ""));
    };

    Device.prototype.cancel = function () {
        var job = this.active;
        if (!job || job.finished) {
            this.status("Nothing to cancel.");
            return;
        }
        var ident = job.jobId || job.reqId; // the protocol takes a job id or the request id that made it
        var waiting = this.pending[job.reqId];
        if (waiting && waiting.kind === "job") {
            this.take(job.reqId); // stop resending a request the producer no longer wants
        }
        this.request("cancel", DG.controlRequest("cancel", this.nextId(), this.listenPort, ident), {job: job});
        this.status("Cancelling…");
    };

    Device.prototype.askModels = function () {
        this.request("models", DG.controlRequest("models", this.nextId(), this.listenPort), {});
    };

    Device.prototype.setCatalogue = function (json) {
        var parsed;
        try {
            parsed = JSON.parse(json);
        } catch (err) {
            this.status("dawgen sent a model list this device can't read: " + err.message);
            return;
        }
        this.catalogue = parsed && parsed.length !== undefined ? parsed : [];
        this.showModels();
    };

    // Menu: "default (synth)", then every model by name; unavailable ones say so.
    Device.prototype.showModels = function () {
        var list = this.catalogue || [], defaultName = "", i;
        this.menuNames = [""];
        var labels = [];
        for (i = 0; i < list.length; i++) {
            if (list[i].default) {
                defaultName = list[i].name;
            }
            this.menuNames.push(list[i].name);
            labels.push(list[i].name + (list[i].unavailable ? " (unavailable)" : ""));
        }
        this.ui(["model", "clear"]);
        this.ui(["model", "append", defaultName ? "default (" + defaultName + ")" : "default"]);
        for (i = 0; i < labels.length; i++) {
            this.ui(["model", "append", labels[i]]);
        }
        var index = 0, wanted = this.settings.model;
        for (i = 0; i < this.menuNames.length; i++) {
            if (this.menuNames[i] === wanted) {
                index = i;
            }
        }
        this.ui(["model", "set", index]);
        this.showBases();
        if (wanted && index === 0 && this.catalogue) {
            this.status("Model \"" + wanted + "\" saved in this Set is not in the daemon's config; " +
                "requests will name it and the daemon will say why it can't run.");
        }
        this.showLoras();
    };

    // The adapter menus: "none", then the adapters (LoRAs) the chosen model lists. A pick the model
    // does not list (another model chosen, an adapter removed from the daemon) stays in the settings,
    // so choosing that model again brings it back, but shows as "none" and is not sent.
    Device.prototype.showLoras = function () {
        var names = DG.loraNames(this.catalogue, this.settings.model), model = modelLabel(this.settings.model);
        for (var slot = 1; slot <= DG.LORA_SLOTS; slot++) {
            var menu = "lora" + slot, wanted = this.settings[menu], index = 0;
            this.loraMenus[slot - 1] = [""].concat(names);
            this.ui([menu, "clear"]);
            this.ui([menu, "append", names.length ? "none" : "none (no adapters)"]);
            for (var i = 0; i < names.length; i++) {
                this.ui([menu, "append", names[i]]);
                if (names[i] === wanted) {
                    index = i + 1;
                }
            }
            this.ui([menu, "set", index]);
            if (wanted && index === 0 && this.catalogue) {
                this.io.post("dawgen: adapter " + slot + " \"" + wanted + "\" is not one " + model +
                    " lists; it is not sent while that model is chosen.");
            }
        }
    };
})(DG);
