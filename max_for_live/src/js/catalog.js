// "Get a model" (issue #20): the models the daemon can download (/dawgen/catalog: name, size,
// licence, installed), a Get button that sends `/dawgen/pull name=...` as a job with its progress in
// the device, the model menu asked again when it is done, and a gated model's refusal shown with the
// page where its licence is accepted. A request that fails because its model is missing points here.
(function (DG) {
    var Device = DG.Device;

    DG.catalogEntry = function (catalog, name) {
        for (var i = 0; catalog && name && i < catalog.length; i++) {
            if (catalog[i] && catalog[i].name === name) {
                return catalog[i];
            }
        }
        return null;
    };

    // The menu line of an entry: name · size · licence · installed.
    DG.catalogLabel = function (entry) {
        var parts = [entry.name], size = DG.sizeText(entry.bytes, entry.download_gb);
        if (size) {
            parts.push(size);
        }
        if (entry.licence) {
            parts.push(String(entry.licence));
        }
        parts.push(entry.installed ? "installed" : (entry.gated ? "gated" : "get"));
        return parts.join(" · ");
    };

    // The line under the menu: what choosing it means.
    DG.catalogInfo = function (entry) {
        if (!entry) {
            return "";
        }
        var parts = [], size = DG.sizeText(entry.bytes, entry.download_gb), memory = DG.sizeText(null, entry.memory_gb);
        if (size) {
            parts.push(size + " download" + (memory ? ", " + memory + " memory" : ""));
        }
        if (entry.needs && entry.needs.length) {
            parts.push("with " + [].concat(entry.needs).join(", "));
        }
        if (entry.licence) {
            parts.push(entry.licence + (entry.gated ? " (gated: accept at " + (entry.page || entry.licence_url) + ")" : ""));
        }
        parts.push(entry.installed ? "installed" : "not installed");
        return parts.join(" · ");
    };

    Device.prototype.pullStatus = function (text) {
        this.ui(["pullstatus", "set", text]);
        this.io.post("dawgen get: " + text);
    };

    Device.prototype.askCatalog = function () {
        this.request("catalog", DG.controlRequest("catalog", this.nextId(), this.listenPort), {what: "the catalog"});
    };

    Device.prototype.onCatalog = function (reqId, json) {
        if (!this.take(reqId)) {
            return;
        }
        var parsed;
        try {
            parsed = JSON.parse(String(json));
        } catch (err) {
            this.pullStatus("The daemon's catalog is unreadable: " + err.message);
            return;
        }
        this.pullCatalog = parsed && parsed.length !== undefined ? parsed : [];
        this.showCatalog();
    };

    // An older daemon has no catalog: say so in the section, not on the main status line.
    Device.prototype.catalogRefused = function (code, message) {
        this.pullCatalog = null;
        this.pullNames = [""];
        this.ui(["catalog", "clear"]);
        this.ui(["catalog", "append", "(no catalog)"]);
        this.pullStatus(code === "unknown_verb" ? "This dawgen has no model catalog (it is older than `dawgen pull`)." :
            DG.describeError(code, message, "the catalog"));
    };

    // The menu: a heading line (nothing chosen), then each model the daemon can fetch. Entries that
    // are only a dependency (backend null, e.g. t5-base) come with the models that need them.
    Device.prototype.showCatalog = function () {
        var list = this.pullCatalog || [], index = 0;
        this.pullNames = [""];
        this.ui(["catalog", "clear"]);
        this.ui(["catalog", "append", list.length ? "get a model…" : "(catalog empty)"]);
        for (var i = 0; i < list.length; i++) {
            var entry = list[i];
            if (!entry || !entry.name || entry.backend === null) {
                continue;
            }
            this.pullNames.push(entry.name);
            this.ui(["catalog", "append", DG.catalogLabel(entry)]);
            if (entry.name === this.pullPick) {
                index = this.pullNames.length - 1;
            }
        }
        if (!index) {
            this.pullPick = "";
        }
        this.ui(["catalog", "set", index]);
        this.ui(["cataloginfo", "set", DG.catalogInfo(DG.catalogEntry(list, this.pullPick))]);
    };

    Device.prototype.pickCatalog = function (index) {
        var name = this.pullNames[Math.round(DG.toNumber(index, 0))];
        if (name === undefined) {
            return;
        }
        this.pullPick = name;
        this.ui(["cataloginfo", "set", DG.catalogInfo(DG.catalogEntry(this.pullCatalog, name))]);
    };

    // Get: pull the chosen model; pressed while a pull runs, it stops that pull.
    Device.prototype.getModel = function () {
        if (this.pulling) {
            var ident = this.pulling.jobId || this.pulling.reqId;
            if (!this.pulling.jobId) {
                this.take(this.pulling.reqId);
            }
            this.request("cancel", DG.controlRequest("cancel", this.nextId(), this.listenPort, ident),
                {what: "stopping the download", pullCancel: true});
            this.pullStatus("Stopping the download of " + this.pulling.name + "…");
            return;
        }
        var name = this.pullPick, entry = DG.catalogEntry(this.pullCatalog, name);
        if (!name || !entry) {
            this.pullStatus(this.pullCatalog ? "Pick a model in the list first." : "No catalog from the daemon yet: press connect.");
            return;
        }
        if (entry.installed) {
            this.pullStatus(name + " is installed already: pick it in the model menu.");
            return;
        }
        var meta = {pull: true, name: name, what: "getting " + name, mode: {result: "pull"}};
        var p = this.request("job", DG.pullRequest(this.nextId(), name, this.listenPort), meta);
        this.pulling = {reqId: p.reqId, jobId: null, name: name};
        this.ui(["pullprogress", 0]);
        var size = DG.sizeText(entry.bytes, entry.download_gb);
        this.pullStatus("Asking dawgen to get " + name + (size ? " (" + size + ")" : "") + "… (Get again stops it)");
    };

    Device.prototype.pullAcked = function (job, position) {
        if (this.pulling && this.pulling.reqId === job.reqId) {
            this.pulling.jobId = job.jobId;
        }
        this.pullStatus(job.meta.name + (position > 0 ? ": queued, " + DG.plural(position, "job") + " ahead." : ": starting…"));
    };

    // Progress of a pull: one stage per file (`t5-base/model.safetensors`), the fraction of all files.
    Device.prototype.pullProgress = function (job, fraction, stage) {
        var pct = Math.round(DG.clamp(Number(fraction), 0, 1) * 100);
        this.ui(["pullprogress", pct]);
        this.ui(["pullstatus", "set", job.meta.name + ": " + String(stage) + " " + pct + "%"]);
    };

    Device.prototype.pullEnded = function (text) {
        this.pulling = null;
        this.ui(["pullprogress", 0]);
        this.pullStatus(text);
    };

    Device.prototype.pullDone = function (job, paths) {
        this.pulling = null;
        this.ui(["pullprogress", 100]);
        this.pullStatus("Got " + job.meta.name + ": it is in the model menu now" + (paths[0] ? " (" + paths[0] + ")" : "") + ".");
        this.askModels();
        this.askCatalog();
    };

    // A refused or failed pull, in words. A gated model (model_unavailable) names the page where its
    // licence is accepted and how the daemon gets a Hugging Face token (never this device's token).
    DG.pullErrorText = function (code, message, name, entry) {
        var page = entry ? entry.page || entry.licence_url : "";
        if (code === "model_unavailable" && entry && entry.gated) {
            return name + " is gated: accept its licence at " + page + " (logged in to Hugging Face), then give the " +
                "daemon a Hugging Face token that has access (HF_TOKEN, or `dawgen login` on its computer) and press Get " +
                "again. dawgen said: " + DG.trim(message);
        }
        var text = DG.describeError(code, message, "getting " + name);
        return code === "model_unavailable" && page ? text + " Licence: " + page : text;
    };

    Device.prototype.pullFailed = function (name, code, message) {
        if (code === "cancelled") {
            this.pullEnded("Stopped getting " + name + ": nothing was installed.");
            return;
        }
        this.pullEnded(DG.pullErrorText(code, message, name, DG.catalogEntry(this.pullCatalog, name)));
    };

    // A request failed for want of its model: when the catalog has it, choose it in the catalog menu
    // and say so (the text to add to the status line), so one press of Get fetches it.
    Device.prototype.offerPull = function (code, model) {
        if ((code !== "unknown_model" && code !== "model_unavailable") || !model) {
            return "";
        }
        var entry = DG.catalogEntry(this.pullCatalog, model);
        if (!entry || entry.installed) {
            return "";
        }
        this.pullPick = model;
        this.showCatalog();
        this.pullStatus(model + " can be downloaded: press Get.");
        return " dawgen can download it: press Get (right).";
    };
})(DG);
