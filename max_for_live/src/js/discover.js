// The daemons on the LAN (issue #23): "find" asks the TCP helper (dawgen_net.js) to run
// `dawgen discover --json`; the menu beside it then lists what answered (name · host:port · token),
// and picking one sets Host and Port and says whether it wants a token. The dawgen program is the
// `dawgen` field's path, else the helper looks on PATH and where dawgen is usually installed.
(function (DG) {
    var Device = DG.Device;

    DG.DISCOVER_SECONDS = 3;
    DG.LAN_PROMPT = "daemons on the LAN…";

    // A menu line: "dawgen on studio-pc · 192.168.1.20:9950 · token".
    DG.daemonLabel = function (found) {
        return found.name + " · " + found.host + ":" + found.port + (found.token ? " · token" : "");
    };

    Device.prototype.lanMenu = function (first, found) {
        this.ui(["lan", "clear"]);
        this.ui(["lan", "append", first]);
        for (var i = 0; found && i < found.length; i++) {
            this.ui(["lan", "append", DG.daemonLabel(found[i])]);
        }
        this.ui(["lan", "set", 0]);
    };

    Device.prototype.findDaemons = function () {
        if (this.finding) {
            return; // one look at a time: its answer fills the menu
        }
        this.finding = this.nextId();
        this.lanFound = [];
        this.lanMenu("looking…", null);
        this.status("Looking for dawgen daemons on the LAN (" + DG.DISCOVER_SECONDS + " s)…", true);
        this.toNet("discover", {id: this.finding, dawgen: DG.trim(this.settings.dawgenPath),
            seconds: DG.DISCOVER_SECONDS});
    };

    // The helper never started (remote.js's wait ran out): the look is over too.
    Device.prototype.findingGone = function () {
        if (this.finding) {
            this.finding = null;
            this.lanMenu(DG.LAN_PROMPT, null);
        }
    };

    // discovered id <uri-encoded JSON>: [{name, host, port, token, version, addresses}]
    Device.prototype.onDiscovered = function (id, encoded) {
        if (String(id) !== this.finding) {
            return;
        }
        this.finding = null;
        var found;
        try {
            found = JSON.parse(decodeURIComponent(String(encoded)));
        } catch (err) {
            this.lanMenu(DG.LAN_PROMPT, null);
            this.status("The list of daemons is unreadable: " + err.message);
            return;
        }
        var usable = [];
        for (var i = 0; found && i < found.length; i++) {
            if (found[i] && found[i].host && Number(found[i].port) > 0) {
                usable.push({name: String(found[i].name || "dawgen"), host: String(found[i].host),
                    port: Math.round(Number(found[i].port)), token: !!found[i].token,
                    version: String(found[i].version || "?")});
            }
        }
        this.lanFound = usable;
        if (!usable.length) {
            this.lanMenu("none found", null);
            this.status("No dawgen daemon answered on the LAN in " + DG.DISCOVER_SECONDS + " s. A daemon announces " +
                "itself when it listens beyond loopback (dawgen serve --host 0.0.0.0, [server] announce = true); " +
                "multicast must pass the network.");
            return;
        }
        this.lanMenu(DG.plural(usable.length, "daemon") + " found: pick one", usable);
        this.status("Found " + DG.plural(usable.length, "dawgen daemon") + " on the LAN: pick one in the menu " +
            "to use it.");
    };

    Device.prototype.onDiscoverFailed = function (id, message) {
        if (String(id) !== this.finding) {
            return;
        }
        this.finding = null;
        this.lanMenu(DG.LAN_PROMPT, null);
        this.status("Could not look for daemons on the LAN: " + message);
    };

    // The menu: index 0 is its title; the others set Host and Port (one reconnect for both).
    Device.prototype.pickDaemon = function (index) {
        var found = (this.lanFound || [])[Math.round(DG.toNumber(index, 0)) - 1];
        if (!found) {
            return;
        }
        var s = this.settings, changed = s.host !== found.host || s.port !== found.port;
        s.host = found.host;
        s.port = DG.clamp(found.port, 1, 65535);
        this.ui(["host", "set", s.host]);
        this.ui(["port", "set", s.port]);
        this.persist();
        if (changed && this.live) {
            this.reconnect(false);
        }
        var where = found.name + " at " + s.host + ":" + s.port + " (dawgen " + found.version + ")";
        if (found.token) {
            this.status("Using " + where + ". It needs a client token: " + (s.token ? "yours is sent with every request." :
                "ask its owner for one (dawgen token add NAME on that computer) and type it in the token field."));
        } else {
            this.status("Using " + where + "; it needs no token.");
        }
    };
})(DG);
