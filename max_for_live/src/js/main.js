// Max entry points. Every top-level function here is a message the patcher sends to [js dawgen.js];
// helpers are marked `.local = 1` so Max does not expose them.
//
// Outlets: 0 -> [udpsend] (OSC requests; "host"/"port" settings), 1 -> [udpreceive] ("port"),
//          2 -> [route ...] -> the controls (status, progress, menus, stored settings),
//          3 -> [node.script dawgen_net.js] (TCP to a daemon on another computer: remote.js).
// Inlet: controls (through [prepend NAME]), [live.thisdevice] ("init"), [udpreceive] (replies),
//        [node.script] (replies that came over TCP, and netready/neterror/fetch* of its own).
autowatch = 0;
inlets = 1;
outlets = 4;

var device = null;

DG.maxIO = function () {
    return {
        send: function (list) {
            outlet(0, list);
        },
        listen: function (port) {
            outlet(1, "port", port);
        },
        ui: function (list) {
            outlet(2, list);
        },
        net: function (list) {
            outlet(3, list);
        },
        later: function (fn, ms) {
            var task = new Task(fn, this);
            task.schedule(ms);
            return {cancel: function () { task.cancel(); }};
        },
        post: function (text) {
            post(text + "\n");
        },
        make: function (path) {
            return new LiveAPI(path);
        },
        observe: function (path, property, fn) {
            var api = new LiveAPI(function (args) {
                if (args && args[0] === property) {
                    fn(args[1]);
                }
            }, path);
            api.property = property;
            return api; // kept by the caller: an observer that is garbage-collected stops observing
        },
        exists: function (path) {
            var file = new File(String(path).replace(/\\/g, "/"), "read");
            var there = file.isopen;
            file.close();
            return there;
        },
        // Max's File writes files (not folders): chunk by chunk, so a long take does not sit in memory.
        copyFile: function (from, to) {
            var src = new File(String(from).replace(/\\/g, "/"), "read");
            if (!src.isopen) {
                throw new Error("can't open " + from);
            }
            var dst = new File(String(to).replace(/\\/g, "/"), "write");
            if (!dst.isopen) {
                src.close();
                throw new Error("can't write " + to);
            }
            dst.eof = 0;
            while (src.position < src.eof) {
                var chunk = src.readbytes(Math.min(65536, src.eof - src.position));
                if (!chunk || !chunk.length) {
                    break;
                }
                dst.writebytes(chunk);
            }
            src.close();
            dst.close();
        },
        writeText: function (path, text) {
            var file = new File(String(path).replace(/\\/g, "/"), "write");
            if (!file.isopen) {
                throw new Error("can't write " + path);
            }
            file.eof = 0;
            file.writestring(unescape(encodeURIComponent(text))); // UTF-8, as the daemon reads it
            file.close();
        },
        readBytes: function (path) {
            var file = new File(String(path).replace(/\\/g, "/"), "read");
            if (!file.isopen) {
                throw new Error("can't open " + path);
            }
            var bytes = [];
            while (file.position < file.eof) {
                var chunk = file.readbytes(Math.min(4096, file.eof - file.position));
                if (!chunk || !chunk.length) {
                    break;
                }
                for (var i = 0; i < chunk.length; i++) {
                    bytes.push(chunk[i]);
                }
            }
            file.close();
            return bytes;
        }
    };
};

function dev() {
    if (!device) {
        device = new DG.Device(DG.maxIO());
    }
    return device;
}
dev.local = 1;

function text(args) {
    return DG.joinAtoms(arrayfromargs(args));
}
text.local = 1;

// [live.thisdevice] -> "init": the Live API is usable from here on.
function init() {
    dev().init();
}

// [udpreceive] output: the OSC address is the message name.
function anything() {
    var args = arrayfromargs(arguments);
    if (String(messagename).charAt(0) === "/") {
        dev().onOsc(String(messagename), args);
    } else {
        post("dawgen: unknown message " + messagename + "\n");
    }
}

function prompt() { dev().setText("prompt", text(arguments)); }
function folder() { dev().setText("folder", text(arguments)); }
function host() { dev().setText("host", text(arguments) || "127.0.0.1"); }
function token() { dev().setToken(text(arguments)); }
function project() { dev().setText("project", text(arguments)); }
function dawgenpath() { dev().setText("dawgenPath", text(arguments)); }
function lanpick(index) { dev().pickDaemon(index); }
function catalogpick(index) { dev().pickCatalog(index); }
function model(index) { dev().setModelIndex(index); }
function mode(value) { dev().setNumber("mode", value); }
function bars(value) { dev().setNumber("bars", value); }
function seed(value) { dev().setNumber("seed", value); }
function count(value) { dev().setNumber("count", value); }
function strength(value) { dev().setStrength(value); }
function lora1(index) { dev().setLoraIndex(1, index); }
function lora2(index) { dev().setLoraIndex(2, index); }
function lora1strength(value) { dev().setLoraStrength(1, value); }
function lora2strength(value) { dev().setLoraStrength(2, value); }
function port(value) { dev().setNumber("port", value); }
function replyport(value) { dev().setNumber("replyport", value); }
function place(value) { dev().setNumber("place", value); }
function restore() { dev().restore(text(arguments)); }
function dataset() { dev().setText("dataset", text(arguments)); }
function trainkind(value) { dev().setTrainKind(value); }
function trainsteps(value) { dev().setTrainSteps(value); }
function trainbase(index) { dev().setTrainBase(index); }

function addclip(value) {
    if (DG.isPress(value)) {
        dev().addClip();
    }
}

function train(value) {
    if (DG.isPress(value)) {
        dev().startTraining();
    }
}

function generate(value) {
    if (DG.isPress(value)) {
        dev().generate();
    }
}

function cancel(value) {
    if (DG.isPress(value)) {
        dev().cancel();
    }
}

function dice(value) {
    if (DG.isPress(value)) {
        dev().dice();
    }
}

function keep(value) {
    if (DG.isPress(value)) {
        dev().keepSeed();
    }
}

// "connect": ask the daemon again (after restarting it with other models, say).
function refresh(value) {
    if (DG.isPress(value)) {
        dev().reconnect(false);
    }
}

// "find": the daemons on the LAN (discover.js).
function finddaemons(value) {
    if (DG.isPress(value)) {
        dev().findDaemons();
    }
}

function getmodel(value) {
    if (DG.isPress(value)) {
        dev().getModel();
    }
}

// From [node.script dawgen_net.js].
function netready() { dev().onNetReady(); }
function neterror(id, message) { dev().onNetError(String(id), DG.joinAtoms(arrayfromargs(arguments).slice(1))); }
function fetchprogress(id, fraction) { dev().onFetchProgress(id, fraction); }
function fetched() { dev().onFetched.apply(dev(), arrayfromargs(arguments)); }
function fetchfailed(id, message) { dev().onFetchFailed(String(id), DG.joinAtoms(arrayfromargs(arguments).slice(1))); }
function discovered(id, json) { dev().onDiscovered(String(id), json); }
function discoverfailed(id, message) { dev().onDiscoverFailed(String(id), DG.joinAtoms(arrayfromargs(arguments).slice(1))); }

function notifydeleted() {
    if (device) {
        device.dispose();
    }
}
