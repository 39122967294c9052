// The device's state: settings from its controls, the connection to the daemon, requests in flight.
//
// `io` is everything outside the JavaScript: io.send(list) -> [udpsend] (OSC messages and its
// host/port settings), io.listen(port) -> [udpreceive], io.ui(list) -> the controls (through a
// [route]), io.later(fn, ms) -> a Max Task, io.post(text) -> the Max console, io.make(path) -> LiveAPI,
// io.observe(path, property, fn), io.readBytes(path) -> a file's bytes (Max's File object),
// io.net(list) -> [node.script dawgen_net.js] (TCP to a daemon on another machine: uploads, fetches).
(function (DG) {
    var RESEND_MS = 1000;   // a UDP request not answered in this time is sent again (same id)
    var MAX_TRIES = 4;      // the daemon de-duplicates resent ids, so this never makes two jobs
    var WATCH_MS = 4000;    // a job silent this long is asked for its status (a lost packet)
    var RECONNECT_MS = 5000;
    var TCP_WAIT_MS = 120000; // a request sent over TCP (an upload) is not resent; no answer in this is reported

    var DEFAULTS = {prompt: "", model: "", mode: 0, bars: 4, seed: -1, count: 1, strength: 0.5,
        host: "127.0.0.1", port: 9950, replyPort: 0, folder: "", place: 0,
        lora1: "", lora2: "", lora1Strength: DG.LORA_DEFAULT, lora2Strength: DG.LORA_DEFAULT,
        dataset: "", trainKind: 0, trainBase: "", trainSteps: 1000, token: "", project: "", dawgenPath: ""};
    // Controls that Live saves as parameters; init asks each to send its value again.
    DG.PARAMETER_CONTROLS = ["mode", "bars", "seed", "count", "strength", "port", "replyport", "place",
        "lora1strength", "lora2strength", "trainkind", "trainsteps"];

    function Device(io) {
        this.io = io;
        this.settings = {};
        for (var key in DEFAULTS) {
            this.settings[key] = DEFAULTS[key];
        }
        this.song = {tempo: 120, sigNum: 4, sigDen: 4};
        this.live = null;
        this.observers = [];
        this.idPrefix = "m4l-" + DG.randomTag(6); // per instance: two devices never share an id
        this.counter = 0;
        this.listenPort = 0;
        this.portTries = 0;
        this.connected = false;
        this.pending = {};  // request id -> {kind, list, meta, tries, timer}
        this.jobs = {};     // job id -> {jobId, reqId, meta, finished}
        this.active = null; // the request shown in the progress bar and status line
        this.catalogue = null;
        this.menuNames = [""];
        this.loraMenus = [[""], [""]];
        this.baseNames = [""]; // the train base menu: index -> model name ("" = no base)
        this.training = null; // per adapter picker: menu index -> adapter name ("" = none)
        this.lastSeed = null;
        this.syncing = false;
        this.reconnectTimer = null;
        this.pullCatalog = null; // the parsed /dawgen/catalog reply (null: not asked or not offered)
        this.pullNames = [];     // catalog menu index -> model name
        this.pullPick = "";      // the catalog entry chosen in the menu
        this.pulling = null;     // the pull job (or request) in flight
        this.netReady = false;   // the Node for Max helper said it runs
        this.netQueue = [];      // messages for it before it did
        this.netWait = null;     // the check that it did start
        this.fetches = {};       // fetch id -> {job, paths}: results being downloaded from a remote daemon
        this.finding = null;     // the id of the `dawgen discover` the helper runs now (discover.js)
        this.lanFound = [];      // the daemons menu: index - 1 -> {name, host, port, token, version}
    }
    DG.Device = Device;

    // -- controls -------------------------------------------------------------------------------
    Device.prototype.ui = function (list) {
        this.io.ui(list);
    };

    // The status line is short on the device's face; every message but progress also goes to the
    // Max console in full.
    Device.prototype.status = function (text, quiet) {
        this.ui(["status", "set", text]);
        if (!quiet) {
            this.io.post("dawgen: " + text);
        }
    };

    Device.prototype.detail = function (text) {
        this.ui(["detail", "set", text]);
    };

    Device.prototype.progress = function (percent) {
        this.ui(["progress", Math.round(DG.clamp(percent, 0, 100))]);
    };

    var NUMERIC = {
        mode: ["mode", 0, DG.MODES.length - 1], bars: ["bars", 1, 64], seed: ["seed", -1, DG.SEED_MAX],
        count: ["count", 1, 64], port: ["port", 1, 65535], replyport: ["replyPort", 0, 65535],
        place: ["place", 0, DG.PLACES.length - 1]
    };

    Device.prototype.setNumber = function (control, value) {
        var spec = NUMERIC[control];
        var n = Math.round(DG.toNumber(value, this.settings[spec[0]]));
        var changed = this.settings[spec[0]] !== DG.clamp(n, spec[1], spec[2]);
        this.settings[spec[0]] = DG.clamp(n, spec[1], spec[2]);
        if (changed && !this.syncing && this.live && (control === "port" || control === "replyport")) {
            this.reconnect(control === "replyport");
        }
    };

    Device.prototype.setStrength = function (value) {
        this.settings.strength = DG.clamp(DG.toNumber(value, this.settings.strength), 0, 1);
    };

    // The adapter dials (live.dial, -2..2): slot 1 or 2.
    Device.prototype.setLoraStrength = function (slot, value) {
        var key = "lora" + slot + "Strength";
        this.settings[key] = DG.clamp(DG.toNumber(value, this.settings[key]), DG.LORA_MIN, DG.LORA_MAX);
    };

    // The adapter menus: index 0 is "none", then the chosen model's adapters (showLoras).
    Device.prototype.setLoraIndex = function (slot, index) {
        var names = this.loraMenus[slot - 1];
        var name = names ? names[Math.round(DG.toNumber(index, 0))] : undefined;
        var key = "lora" + slot;
        if (name !== undefined && name !== this.settings[key]) {
            this.settings[key] = name;
            this.persist();
        }
    };

    // The token field: what is typed is kept and the field then shows a mask, never the token (Max's
    // textedit has no password mode, so the token is visible only while it is being typed). Return on
    // the mask itself changes nothing; an emptied field clears the token.
    Device.prototype.setToken = function (text) {
        text = DG.trim(text);
        if (text && /^\u2022+$/.test(text)) {
            return;
        }
        var changed = text !== this.settings.token;
        this.settings.token = text;
        this.showToken();
        if (changed) {
            this.persist();
            this.status(text ? "Token set: every request carries it." : "Token cleared.", true);
            if (this.live) {
                this.reconnect(false);
            }
        }
    };

    Device.prototype.showToken = function () {
        this.ui(["token", "set", this.settings.token ? DG.TOKEN_MASK : ""]);
    };

    Device.prototype.setText = function (name, text) {
        var changed = this.settings[name] !== text;
        this.settings[name] = text;
        if (changed) {
            this.persist();
            if (name === "host" && this.live) {
                this.reconnect(false);
            }
        }
    };

    Device.prototype.setModelIndex = function (index) {
        var name = this.menuNames[Math.round(DG.toNumber(index, 0))];
        if (name !== undefined && name !== this.settings.model) {
            this.settings.model = name;
            this.persist();
            this.showLoras(); // another model, other adapters
        }
    };

    // Text settings are not Live parameters: they travel as one blob in a [pattr] that Live saves
    // with the Set, and come back through restore(). The JSON is URI-encoded so that no comma,
    // semicolon or quote in a prompt can be read back by Max as message syntax.
    Device.prototype.persist = function () {
        var s = this.settings;
        var json = JSON.stringify({prompt: s.prompt, folder: s.folder, host: s.host, model: s.model,
            lora1: s.lora1, lora2: s.lora2, dataset: s.dataset, trainBase: s.trainBase, token: s.token,
            project: s.project, dawgenPath: s.dawgenPath});
        this.ui(["store", encodeURIComponent(json)]);
    };

    Device.prototype.restore = function (stored) {
        var saved;
        if (!stored) {
            return; // a new device: nothing stored yet
        }
        try {
            saved = JSON.parse(stored.charAt(0) === "{" ? stored : decodeURIComponent(stored));
        } catch (err) {
            this.io.post("dawgen: saved settings unreadable, using defaults: " + err.message);
            return;
        }
        // The [pattr] may echo every stored value back: only real changes do anything.
        var names = ["prompt", "folder", "host", "dataset", "project", "dawgenPath"], hostChanged = false;
        for (var i = 0; i < names.length; i++) {
            var name = names[i];
            if (typeof saved[name] === "string" && saved[name] !== this.settings[name]) {
                this.settings[name] = saved[name];
                this.ui([name.toLowerCase(), "set", saved[name]]);
                hostChanged = hostChanged || name === "host";
            }
        }
        if (typeof saved.token === "string" && saved.token !== this.settings.token) {
            this.settings.token = saved.token;
            this.showToken();
            hostChanged = true; // ask again, with the token
        }
        var menusChanged = false;
        if (typeof saved.model === "string" && saved.model !== this.settings.model) {
            this.settings.model = saved.model;
            menusChanged = true;
        }
        for (var slot = 1; slot <= DG.LORA_SLOTS; slot++) {
            var lora = saved["lora" + slot];
            if (typeof lora === "string" && lora !== this.settings["lora" + slot]) {
                this.settings["lora" + slot] = lora;
                menusChanged = true;
            }
        }
        if (typeof saved.trainBase === "string" && saved.trainBase !== this.settings.trainBase) {
            this.settings.trainBase = saved.trainBase;
            menusChanged = true;
        }
        if (menusChanged) {
            this.showModels(); // the model menu, then its adapters and the train base menu
        }
        if (hostChanged && this.live) {
            this.reconnect(false);
        }
    };

    Device.prototype.dice = function () {
        this.settings.seed = DG.randomInt(DG.SEED_MAX);
        this.ui(["seed", this.settings.seed]);
    };

    Device.prototype.keepSeed = function () {
        if (this.lastSeed === null) {
            this.status("No seed to keep yet: generate something first.");
            return;
        }
        this.settings.seed = this.lastSeed;
        this.ui(["seed", this.lastSeed]);
    };

    // -- start-up and connection ----------------------------------------------------------------
    // Called from [live.thisdevice]: LiveAPI objects can't be built before the device is loaded.
    Device.prototype.init = function () {
        try {
            if (!this.live) {
                this.live = new DG.Live(this.io.make);
                this.followSong();
            }
        } catch (err) {
            this.live = null;
            this.status("The Live API is not available yet (" + err.message + "); reload the device.");
            return;
        }
        this.syncing = true; // parameters echo their values back; don't reconnect for each one
        for (var i = 0; i < DG.PARAMETER_CONTROLS.length; i++) {
            this.ui([DG.PARAMETER_CONTROLS[i], "bang"]);
        }
        this.syncing = false;
        this.reconnect(true);
    };

    Device.prototype.followSong = function () {
        var self = this;
        var watch = function (property, key) {
            self.observers.push(self.io.observe("live_set", property, function (value) {
                self.song[key] = DG.toNumber(value, self.song[key]);
                self.showSong();
            }));
        };
        watch("tempo", "tempo");
        watch("signature_numerator", "sigNum");
        watch("signature_denominator", "sigDen");
    };

    Device.prototype.showSong = function () {
        if (!this.active || this.active.finished) {
            this.detail(DG.fmt(this.song.tempo, 2) + " BPM " + this.song.sigNum + "/" + this.song.sigDen +
                (this.live ? " · Live " + this.live.version.text : ""));
        }
    };

    Device.prototype.reconnect = function (newReplyPort) {
        var s = this.settings;
        this.io.send(["host", s.host]);
        this.io.send(["port", s.port]);
        if (newReplyPort || !this.listenPort) {
            // Each instance listens on its own port: the one set in the device, or a random free-looking
            // one (a clash shows as no answer, and another port is tried).
            this.listenPort = s.replyPort || 20000 + DG.randomInt(40999);
            this.io.listen(this.listenPort);
        }
        this.connected = false;
        this.status("Connecting to dawgen at " + s.host + ":" + s.port + "…");
        this.ping();
    };

    Device.prototype.ping = function () {
        if (this.reconnectTimer) {
            this.reconnectTimer.cancel();
            this.reconnectTimer = null;
        }
        this.request("ping", DG.controlRequest("ping", this.nextId(), this.listenPort), {});
    };

    Device.prototype.nextId = function () {
        this.counter += 1;
        return this.idPrefix + "-" + this.counter;
    };

    // -- requests in flight ---------------------------------------------------------------------
    // via "tcp": through the Node for Max helper (an upload: `upload` = {key, path} names the pair whose
    // file travels as input_blob + input_name); otherwise [udpsend].
    Device.prototype.request = function (kind, list, meta, via, upload) {
        var p = {kind: kind, list: DG.withToken(list, this.settings.token), meta: meta, tries: 0, reqId: list[1],
            timer: null, via: via || "udp", upload: upload || null};
        this.pending[p.reqId] = p;
        this.transmit(p);
        return p;
    };

    Device.prototype.transmit = function (p) {
        var self = this;
        p.tries += 1;
        if (p.via === "tcp") {
            p.tries = MAX_TRIES; // TCP does not lose it, and an upload is not sent twice
            var s = this.settings;
            this.toNet("send", {id: p.reqId, host: s.host, port: s.port, list: p.list, upload: p.upload});
        } else {
            this.io.send(p.list);
        }
        p.timer = this.io.later(function () {
            self.onTimeout(p);
        }, p.via === "tcp" ? TCP_WAIT_MS : RESEND_MS);
    };

    // The pending request answered by a reply with this id, taken off the list.
    Device.prototype.take = function (reqId) {
        var p = this.pending[reqId];
        if (p) {
            delete this.pending[reqId];
            if (p.timer) {
                p.timer.cancel();
            }
        }
        return p;
    };

    Device.prototype.onTimeout = function (p) {
        if (this.pending[p.reqId] !== p) {
            return;
        }
        if (p.tries < MAX_TRIES) {
            this.transmit(p);
            return;
        }
        delete this.pending[p.reqId];
        this.noAnswer(p);
    };

    Device.prototype.noAnswer = function (p) {
        var s = this.settings, where = s.host + ":" + s.port;
        if (p.kind === "ping" && !s.replyPort && this.portTries < 2) {
            this.portTries += 1; // maybe another program holds our random reply port: try another
            this.reconnect(true);
            return;
        }
        if (p.via === "tcp" && !this.netReady) {
            if (this.active && this.active.reqId === p.reqId) {
                this.finishActive();
            }
            this.status(DG.NET_MISSING);
            return;
        }
        this.connected = false;
        this.portTries = 0;
        if (p.kind === "job" && this.active && this.active.reqId === p.reqId) {
            this.finishActive();
        }
        if (p.meta && p.meta.pull) {
            this.pullEnded("No answer from dawgen at " + where + " about getting " + p.meta.name + ".");
        }
        this.status("No answer from dawgen at " + where + ". Start it with `dawgen serve`, or check Host and " +
            "Port (replies come back to port " + this.listenPort + ").");
        var self = this;
        this.reconnectTimer = this.io.later(function () {
            self.reconnectTimer = null;
            self.ping(); // keep trying quietly, so starting the daemon later is enough
        }, RECONNECT_MS);
    };

    Device.prototype.finishActive = function () {
        if (this.active) {
            this.active.finished = true;
        }
        this.progress(0);
    };

    Device.prototype.dispose = function () {
        for (var id in this.pending) {
            if (this.pending[id].timer) {
                this.pending[id].timer.cancel();
            }
        }
        for (var job in this.jobs) {
            if (this.jobs[job].watch) {
                this.jobs[job].watch.cancel();
            }
        }
        if (this.reconnectTimer) {
            this.reconnectTimer.cancel();
        }
        if (this.netWait) {
            this.netWait.cancel();
        }
        this.pending = {};
    };

    Device.WATCH_MS = WATCH_MS;
    Device.TCP_WAIT_MS = TCP_WAIT_MS;
    Device.RESEND_MS = RESEND_MS;
})(DG);
