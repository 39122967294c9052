// A daemon on another machine (docs/PROTOCOL.md, "Clients on the LAN"): it cannot read the clip's
// file on this computer, and Live cannot read the results on its disk. So, when Host is not a
// loopback address, the device uploads the input with the request (`input_blob` + `input_name`) and
// downloads each result (`/dawgen/fetch` -> `/dawgen/file` chunks) into the project folder before
// placing it. Both need TCP, which Max's [udpsend] does not speak and the [js] object has no socket
// for; Max's own TCP objects (mxj net.tcp.send/recv) exchange Max messages between Max programs in
// their own format, not raw bytes. So the TCP side is a Node for Max script, dawgen_net.js, in a
// [node.script] beside this [js]: it gets one message per operation (`send` or `fetch`, with a
// URI-encoded JSON argument) and answers with the daemon's replies (as [udpreceive] would hand them
// over) and with `netready`, `neterror`, `fetchprogress`, `fetched` and `fetchfailed`.
(function (DG) {
    var Device = DG.Device;

    Device.prototype.isRemote = function () {
        return !DG.isLocalHost(this.settings.host);
    };

    // One operation for the helper. Until it says it runs (`netready`), messages wait here: a
    // [node.script] that has not started yet drops what it is sent.
    Device.prototype.toNet = function (op, payload) {
        var message = [op, encodeURIComponent(JSON.stringify(payload))], self = this;
        if (!this.netReady) {
            this.netQueue.push(message);
            if (!this.netWait) {
                this.netWait = this.io.later(function () {
                    self.netWait = null;
                    if (!self.netReady) {
                        self.findingGone();
                        self.status(DG.NET_MISSING);
                    }
                }, Device.NET_WAIT_MS);
            }
            return;
        }
        this.io.net(message);
    };

    Device.NET_WAIT_MS = 10000;
    DG.NET_MISSING = "The TCP helper did not start, so nothing can be uploaded to or downloaded from a dawgen on " +
        "another computer, nor daemons found on the LAN: keep dawgen_net.js in the device's folder (it runs in Max's node.script, Max 8 or newer).";

    Device.prototype.onNetReady = function () {
        this.netReady = true;
        if (this.netWait) {
            this.netWait.cancel();
            this.netWait = null;
        }
        var queue = this.netQueue;
        this.netQueue = [];
        for (var i = 0; i < queue.length; i++) {
            this.io.net(queue[i]);
        }
    };

    // Where downloaded results go: <project>/Samples/dawgen (the helper makes the folders). With no
    // project folder set, "" lets the helper use ~/Music/dawgen (Live does not tell a device where
    // the Set is saved).
    Device.prototype.downloadFolder = function () {
        var project = DG.trim(this.settings.project).replace(/[\\\/]+$/, "");
        return project ? project + "/Samples/dawgen" : "";
    };

    // The helper could not connect, send, or read the file to upload.
    Device.prototype.onNetError = function (id, message) {
        id = String(id);
        var where = this.settings.host + ":" + this.settings.port;
        var p = this.take(id);
        if (p) {
            var text = "Could not send to dawgen at " + where + " over TCP: " + message;
            if (p.kind === "job" && this.active && this.active.reqId === id) {
                this.finishActive();
            }
            if (p.meta && p.meta.pull) {
                this.pullEnded(text);
                return;
            }
            this.status(text);
            return;
        }
        if (this.fetches[id]) {
            this.onFetchFailed(id, message);
            return;
        }
        this.io.post("dawgen: network helper: " + message);
    };

    // /dawgen/done of a job on a remote daemon: download its files, then place them.
    Device.prototype.fetchResults = function (job, paths) {
        var id = this.nextId(), s = this.settings;
        this.fetches[id] = {job: job, paths: paths};
        for (var i = 0; i < paths.length; i++) {
            this.io.post("dawgen: " + job.meta.verb + " wrote " + paths[i] + " on " + s.host + "; downloading it");
        }
        if (job === this.active) {
            this.progress(0);
            this.status("Downloading " + DG.plural(paths.length, "file") + " from " + s.host + "…", true);
        }
        this.toNet("fetch", {id: id, host: s.host, port: s.port, token: s.token, paths: paths,
            folder: this.downloadFolder()});
    };

    Device.prototype.onFetchProgress = function (id, fraction) {
        var f = this.fetches[String(id)];
        if (f && f.job === this.active) {
            var pct = Math.round(DG.clamp(Number(fraction), 0, 1) * 100);
            this.progress(pct);
            this.status("downloading " + pct + "%", true);
        }
    };

    // fetched id local_path...: every file is in the project folder; place them as usual.
    Device.prototype.onFetched = function (id) {
        var f = this.fetches[String(id)];
        if (!f) {
            return;
        }
        delete this.fetches[String(id)];
        var locals = [];
        for (var i = 1; i < arguments.length; i++) {
            locals.push(String(arguments[i]));
        }
        if (f.job === this.active) {
            this.progress(100);
        }
        this.deliver(f.job, locals);
    };

    Device.prototype.onFetchFailed = function (id, message) {
        var f = this.fetches[String(id)];
        if (!f) {
            return;
        }
        delete this.fetches[String(id)];
        if (f.job === this.active) {
            this.progress(0);
            this.status("The results are made but could not be downloaded from " + this.settings.host + ": " +
                message + ". They are on that computer: " + f.paths.join(", "));
        }
    };
})(DG);
