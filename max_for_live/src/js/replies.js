// Replies from the daemon (docs/PROTOCOL.md, "Replies"), as [udpreceive] hands them over: the OSC
// address is the message name, then its arguments. Every reply is matched to this instance's own
// request or job ids; anything else is noted in the Max console and otherwise ignored.
(function (DG) {
    var Device = DG.Device;

    var HANDLERS = {
        "/dawgen/pong": "onPong",
        "/dawgen/models": "onModels",
        "/dawgen/catalog": "onCatalog",
        "/dawgen/ack": "onAck",
        "/dawgen/progress": "onProgress",
        "/dawgen/done": "onDone",
        "/dawgen/error": "onError",
        "/dawgen/cancelled": "onCancelled",
        "/dawgen/status": "onStatus",
        "/dawgen/dataset": "onDataset",
        "/dawgen/training": "onTraining",
        "/dawgen/checkpoint": "onCheckpoint"
    };

    Device.prototype.onOsc = function (address, args) {
        var handler = HANDLERS[address];
        if (!handler) {
            this.io.post("dawgen: ignored " + address + " " + args.join(" "));
            return;
        }
        // Ids are text in the protocol, but Max may hand a numeric-looking symbol over as a number.
        if (args.length) {
            args[0] = String(args[0]);
        }
        this[handler].apply(this, args);
    };

    Device.prototype.onPong = function (reqId, version) {
        if (!this.take(reqId)) {
            return;
        }
        this.connected = true;
        this.portTries = 0;
        this.status("Connected to dawgen " + version + " at " + this.settings.host + ":" + this.settings.port + ".");
        this.showSong();
        if (this.isRemote()) {
            this.detail("dawgen on another computer: clips are uploaded, results downloaded into " +
                (this.downloadFolder() || "~/Music/dawgen (set Project to use your Live project)"));
        }
        this.askCatalog(); // first, so that a missing model can be offered when the models arrive
        this.askModels();
    };

    Device.prototype.onModels = function (reqId, json) {
        if (this.take(reqId)) {
            this.setCatalogue(String(json));
        }
    };

    Device.prototype.onAck = function (reqId, jobId, position) {
        var p = this.take(reqId);
        if (!p || p.kind !== "job") {
            return;
        }
        jobId = String(jobId);
        var job = {jobId: jobId, reqId: reqId, meta: p.meta, finished: false, heard: true, watch: null};
        this.jobs[jobId] = job;
        if (this.active && this.active.reqId === reqId) {
            this.active = job;
        }
        if (p.meta.pull) {
            this.pullAcked(job, Number(position));
        }
        this.showQueued(job, Number(position));
        this.watch(job);
    };

    Device.prototype.showQueued = function (job, position) {
        if (job !== this.active) {
            return;
        }
        this.status(position > 0 ? "Queued: " + DG.plural(position, "job") + " ahead." : "Starting…", true);
        this.detail("queue position " + position);
    };

    // A job that goes quiet (a UDP packet lost on the way) is asked for its status.
    Device.prototype.watch = function (job) {
        var self = this;
        job.watch = this.io.later(function () {
            if (job.finished) {
                return;
            }
            if (!job.heard && !(job.statusReq && self.pending[job.statusReq])) {
                var list = DG.controlRequest("status", self.nextId(), self.listenPort, job.jobId);
                job.statusReq = self.request("status", list, {job: job}).reqId;
            }
            job.heard = false;
            self.watch(job);
        }, Device.WATCH_MS);
    };

    Device.prototype.jobFor = function (jobId) {
        var job = this.jobs[String(jobId)];
        if (!job || job.finished) {
            return null;
        }
        job.heard = true;
        return job;
    };

    Device.prototype.onProgress = function (jobId, fraction, stage, eta) {
        var job = this.jobFor(jobId);
        if (job && job.meta.pull) {
            this.pullProgress(job, fraction, stage);
            return;
        }
        if (!job || job !== this.active) {
            return;
        }
        var pct = Math.round(DG.clamp(Number(fraction), 0, 1) * 100);
        this.progress(pct);
        this.status(String(stage) + " " + pct + "%", true);
        this.detail(Number(eta) >= 0 ? "about " + DG.fmt(Number(eta), 1) + " s left" : "");
    };

    Device.prototype.finishJob = function (job) {
        job.finished = true;
        if (job.watch) {
            job.watch.cancel();
        }
    };

    Device.prototype.onDone = function (jobId) {
        var job = this.jobFor(jobId);
        if (!job) {
            return;
        }
        var paths = [];
        for (var i = 1; i < arguments.length; i++) {
            paths.push(String(arguments[i]));
        }
        this.finishJob(job);
        if (job.meta.pull) {
            this.pullDone(job, paths);
            return;
        }
        if (job === this.active) {
            this.progress(100);
        }
        if (job.meta.train) {
            this.trainingDone(job, paths);
            return;
        }
        this.lastSeed = job.meta.seed;
        this.showSeed(job.meta);
        if (job.meta.remote && paths.length) {
            this.fetchResults(job, paths); // the files are on the daemon's computer: download, then place
            return;
        }
        this.deliver(job, paths);
    };

    Device.prototype.showSeed = function (meta) {
        var text = "–";
        if (meta.seed !== null) {
            text = meta.count > 1 ? meta.seed + "–" + (meta.seed + meta.count - 1) : String(meta.seed);
        }
        this.ui(["lastseed", "set", "last seed " + text]);
    };

    Device.prototype.onError = function (ident, code, message) {
        var what;
        var p = this.take(ident);
        if (p) {
            if (p.kind === "job" && this.active && this.active.reqId === ident) {
                this.finishActive();
            }
            if (p.kind === "status") {
                this.finishJob(p.meta.job); // the daemon no longer knows the job: stop watching it
                if (p.meta.job === this.active) {
                    this.finishActive();
                }
            }
            what = p.meta.what || (p.kind === "cancel" ? "the cancel" : "the " + p.kind + " request");
            if (p.kind === "catalog") {
                this.catalogRefused(String(code), String(message));
                return;
            }
            if (p.meta.pull) {
                this.pullFailed(p.meta.name, String(code), String(message));
                return;
            }
            if (p.meta.pullCancel) {
                this.pullStatus(DG.describeError(String(code), String(message), what));
                return;
            }
            if (p.meta.train) {
                this.trainStatus(DG.describeError(String(code), String(message), what));
                return;
            }
            this.status(DG.describeError(String(code), String(message), what) + this.offerPull(String(code), p.meta.model));
            return;
        }
        var job = this.jobFor(ident);
        if (job) {
            this.finishJob(job);
            if (job.meta.pull) {
                this.pullFailed(job.meta.name, String(code), String(message));
            } else if (job.meta.train) {
                this.trainStatus(DG.describeError(String(code), String(message), job.meta.what));
            } else if (job === this.active) {
                this.progress(0);
                this.status(DG.describeError(String(code), String(message), job.meta.what) +
                    this.offerPull(String(code), job.meta.model));
            }
            return;
        }
        if (ident === "") {
            this.status(DG.describeError(String(code), String(message), "a request"));
            return;
        }
        this.io.post("dawgen: " + code + " for " + ident + ": " + message);
    };

    Device.prototype.onCancelled = function (reqId, jobId, state) {
        var p = this.take(reqId);
        if (!p) {
            return;
        }
        if (p.meta.pullCancel) {
            var pulled = this.jobFor(jobId);
            if (String(state) === "cancelled") {
                if (pulled) {
                    this.finishJob(pulled);
                }
                this.pullFailed(pulled ? pulled.meta.name : "the model", "cancelled", "");
            } else {
                this.pullStatus("Stopping the download…"); // its /dawgen/error ... cancelled follows
            }
            return;
        }
        if (String(state) === "cancelled") {
            var job = this.jobFor(jobId);
            if (job) {
                this.finishJob(job);
            }
            this.finishActive();
            this.status("Cancelled.");
        } else {
            this.status("Stopping the running job…"); // its /dawgen/error ... cancelled follows
        }
    };

    // /dawgen/status req_id job_id state fraction stage eta queue_position [paths | code message]
    Device.prototype.onStatus = function (reqId, jobId, state, fraction, stage, eta, position) {
        if (!this.take(reqId)) {
            return;
        }
        var tail = [];
        for (var i = 7; i < arguments.length; i++) {
            tail.push(arguments[i]);
        }
        state = String(state);
        if (state === "done") {
            this.onDone.apply(this, [jobId].concat(tail));
        } else if (state === "failed" || state === "cancelled") {
            this.onError(String(jobId), tail[0], tail[1]);
        } else if (state === "queued") {
            var job = this.jobFor(jobId);
            if (job) {
                this.showQueued(job, Number(position));
            }
        } else {
            this.onProgress(jobId, fraction, stage, eta);
        }
    };
})(DG);
