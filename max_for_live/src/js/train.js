// The Train section: build a dataset from clips in the Set, then fine-tune a model on it.
//
// The protocol has no verb that copies files into a dataset: `train` reads a `data` folder (audio
// files, searched recursively, with `<file>.txt` prompt sidecars: docs/TRAINING.md). So the device
// writes that folder itself: the producer names a folder (the dataset; its name becomes the model's
// name), "add clip" copies the selected clip's audio file into it with a sidecar holding the prompt
// (the prompt box, else the clip's name), and Train sends `train data=<folder> name=<folder name>`.
// Copying keeps the dataset valid when the Live project moves or its samples are collected, and the
// daemon reads exactly what the producer chose. Max's File can write files but not make folders:
// the folder must exist (make it in Finder/Explorer, or pick an empty one).
(function (DG) {
    var Device = DG.Device;

    // The kinds that train on audio files (the midi kinds want MIDI files, which clips do not have).
    DG.TRAIN_KINDS = ["stable-audio-lora", "stable-audio", "dance-diffusion", "dance-diffusion-lora",
        "musicgen-lora", "musicgen"];
    DG.TRAIN_STEPS_MAX = 100000;

    Device.prototype.trainStatus = function (text) {
        this.ui(["trainstatus", "set", text]);
        this.io.post("dawgen train: " + text);
    };

    Device.prototype.setTrainKind = function (value) {
        this.settings.trainKind = DG.clamp(Math.round(DG.toNumber(value, 0)), 0, DG.TRAIN_KINDS.length - 1);
    };

    Device.prototype.setTrainSteps = function (value) {
        this.settings.trainSteps = DG.clamp(Math.round(DG.toNumber(value, 1000)), 1, DG.TRAIN_STEPS_MAX);
    };

    Device.prototype.setTrainBase = function (index) {
        var name = this.baseNames[Math.round(DG.toNumber(index, 0))];
        if (name !== undefined && name !== this.settings.trainBase) {
            this.settings.trainBase = name;
            this.persist();
        }
    };

    // The base menu: "(no base)", then every model of the daemon's list.
    Device.prototype.showBases = function () {
        var list = this.catalogue || [], index = 0;
        this.baseNames = [""];
        this.ui(["trainbase", "clear"]);
        this.ui(["trainbase", "append", "(no base)"]);
        for (var i = 0; i < list.length; i++) {
            this.baseNames.push(list[i].name);
            this.ui(["trainbase", "append", list[i].name]);
            if (list[i].name === this.settings.trainBase) {
                index = i + 1;
            }
        }
        this.ui(["trainbase", "set", index]);
    };

    // "My Kicks" -> "my-kicks": the model name the daemon accepts (letters, digits, . _ -).
    DG.slug = function (text) {
        return DG.trim(text).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "");
    };

    function datasetFolder(s) {
        return DG.trim(s.dataset).replace(/[\\\/]+$/, "");
    }

    // A free name in the folder: take.wav, take-2.wav, ...
    Device.prototype.freeName = function (folder, name) {
        var stem = DG.stripExtension(name), ext = name.substring(stem.length);
        for (var n = 1; n < 1000; n++) {
            var candidate = folder + "/" + stem + (n > 1 ? "-" + n : "") + ext;
            if (!this.io.exists(candidate)) {
                return candidate;
            }
        }
        throw new Error("no free file name for " + name);
    };

    Device.prototype.addClip = function () {
        var folder = datasetFolder(this.settings), clip;
        if (!folder) {
            this.trainStatus("Type the dataset folder first (an existing folder; its name names the model).");
            return;
        }
        try {
            clip = this.live ? this.live.selectedClip() : null;
        } catch (err) {
            this.trainStatus("Could not read the selected clip: " + err.message);
            return;
        }
        if (!clip || !clip.audio || !clip.path) {
            this.trainStatus(!clip ? "Select an audio clip (Session or Arrangement) first." :
                !clip.audio ? "That is a MIDI clip: add audio clips." : "That clip has no file on disk.");
            return;
        }
        try {
            var dest = this.freeName(folder, DG.basename(clip.path));
            this.io.copyFile(clip.path, dest);
            var prompt = DG.trim(this.settings.prompt) || clip.name || DG.stripExtension(DG.basename(clip.path));
            this.io.writeText(dest + ".txt", prompt);
            this.trainStatus("Added " + DG.basename(dest) + " (\"" + prompt + "\") to " + DG.basename(folder) + ".");
        } catch (err2) {
            this.trainStatus("Could not add the clip to " + folder + ": " + err2.message +
                " (the folder must exist and be writable).");
        }
    };

    Device.prototype.startTraining = function () {
        var s = this.settings, folder = datasetFolder(s), name = DG.slug(DG.basename(folder));
        if (!folder || !name) {
            this.trainStatus("Type the dataset folder first.");
            return;
        }
        if (this.isRemote()) {
            this.trainStatus("Training reads the dataset folder from the daemon's disk: run it on the daemon's " +
                "computer (`dawgen train`), or set Host to this computer's daemon.");
            return;
        }
        var list = ["/dawgen/train", this.nextId(), "kind", DG.TRAIN_KINDS[s.trainKind], "data", folder, "name", name,
            "steps", s.trainSteps];
        if (s.trainBase) {
            list.push("base", s.trainBase);
        }
        list.push("reply_port", this.listenPort);
        var meta = {train: true, name: name, steps: s.trainSteps, what: "training " + name, mode: {result: "train"}};
        this.training = this.request("job", list, meta).reqId;
        this.trainStatus("Sent: train " + name + " (" + DG.TRAIN_KINDS[s.trainKind] + ", " + s.trainSteps + " steps)…");
    };

    // /dawgen/dataset job_id clips rejected summary
    Device.prototype.onDataset = function (jobId, clips, rejected, summary) {
        var job = this.jobFor(jobId);
        if (job && job.meta.train) {
            this.trainStatus(job.meta.name + ": " + String(summary));
        }
    };

    // /dawgen/training job_id step steps loss
    Device.prototype.onTraining = function (jobId, step, steps, loss) {
        var job = this.jobFor(jobId);
        if (job && job.meta.train) {
            this.trainStatus(job.meta.name + ": step " + step + "/" + steps + ", loss " + DG.fmt(Number(loss), 4));
        }
    };

    Device.prototype.onCheckpoint = function (jobId, step) {
        var job = this.jobFor(jobId);
        if (job && job.meta.train) {
            job.meta.checkpoint = Number(step);
        }
    };

    // /dawgen/done job_id run_folder demo... loss.png: the model is usable by name; list it.
    Device.prototype.trainingDone = function (job, paths) {
        this.trainStatus("Trained " + job.meta.name + (job.meta.checkpoint ? " (step " + job.meta.checkpoint + ")" : "") +
            ": pick it in the model menu. Run folder " + (paths[0] || "?") + ".");
        this.askModels();
    };
})(DG);
