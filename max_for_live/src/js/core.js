// dawgen Max for Live device: shared constants and helpers.
//
// Everything under src/js is plain ES5 because Max's [js] object runs an old JavaScript engine
// (no let/const, arrow functions, template strings or classes). `node build.js` joins these files,
// in the order build.js lists, into ../dawgen.js, which is what the device loads and what the tests run.
// Only main.js defines top-level functions: Max turns every top-level function into a message.
var DG = DG || {};

(function (DG) {
    DG.VERSION = "0.1.0";

    // The mode menu, in menu order. `verb` is the OSC address after /dawgen/ (docs/PROTOCOL.md);
    // `result` says what comes back: audio files, stems (one file per stem) or MIDI files.
    DG.MODES = [
        {key: "oneshot", label: "one-shot", verb: "generate", result: "audio"},
        {key: "loop", label: "loop", verb: "generate", result: "audio"},
        {key: "continue", label: "continue clip", verb: "continue", result: "audio", needsClip: true},
        {key: "vary", label: "vary clip", verb: "vary", result: "audio", needsClip: true},
        {key: "stems", label: "stems of clip", verb: "separate", result: "stems", needsClip: true},
        {key: "drums", label: "MIDI drums", verb: "midi/generate", result: "midi", midiKind: "drums"},
        {key: "melody", label: "MIDI melody", verb: "midi/generate", result: "midi", midiKind: "melody"},
        // Harmony (issue #26, harmony.js): new modes go last so a Set's saved mode index keeps its meaning.
        // `clipInput`: the selected MIDI clip is sent as the input (harmony.js writes it as a .mid);
        // `newTrack`: results go on a new MIDI track after the clip's track, lined up with the clip.
        {key: "chords", label: "MIDI chords", verb: "midi/generate", result: "midi", midiKind: "chords", harmony: true},
        {key: "bass", label: "MIDI bass", verb: "midi/generate", result: "midi", midiKind: "bass", harmony: true},
        {key: "piano", label: "MIDI piano", verb: "midi/generate", result: "midi", midiKind: "piano", harmony: true},
        {key: "trio", label: "MIDI trio", verb: "midi/generate", result: "trio", midiKind: "trio", harmony: true},
        {key: "bassline", label: "bass for clip", verb: "midi/bassline", result: "midi", harmony: true,
            clipInput: "chords", newTrack: "bass"},
        {key: "harmonize", label: "harmonize clip", verb: "midi/harmonize", result: "midi", harmony: true,
            clipInput: "melody", newTrack: "chords"},
        {key: "harmonize4", label: "4 voices for clip", verb: "midi/harmonize", result: "midi", harmony: true,
            clipInput: "melody", newTrack: "voices", voices: 4},
        {key: "improvise", label: "melody over clip", verb: "midi/improvise", result: "midi", harmony: true,
            clipInput: "chords", newTrack: "melody"}
    ];

    // Where results go: follow Live's focused view, force one, or only report the path.
    DG.PLACES = ["auto", "session", "arrangement", "off"];

    // live.numbox stores floats: seeds above 2^24 would not survive the box, so the device rolls
    // its own seeds in this range (the daemon accepts up to 2^31 - 1).
    DG.SEED_MAX = 16777215;

    DG.trim = function (text) {
        return String(text === undefined || text === null ? "" : text).replace(/^\s+|\s+$/g, "");
    };

    // Max hands a typed text over as separate atoms ("punchy", "kick", 808): join them back.
    DG.joinAtoms = function (atoms) {
        var parts = [];
        for (var i = 0; i < atoms.length; i++) {
            parts.push(String(atoms[i]));
        }
        var text = DG.trim(parts.join(" "));
        return text === "bang" ? "" : text; // an empty textedit outputs a bare bang
    };

    // Buttons send 1 on press (and may send 0 on release) or a bang: only a press counts.
    DG.isPress = function (value) {
        return value === undefined || value === "bang" || Number(value) !== 0;
    };

    DG.toNumber = function (value, fallback) {
        var n = Number(value);
        return isFinite(n) ? n : fallback;
    };

    DG.clamp = function (value, lo, hi) {
        return Math.max(lo, Math.min(hi, value));
    };

    DG.randomInt = function (maxInclusive) {
        return Math.floor(Math.random() * (maxInclusive + 1));
    };

    DG.randomTag = function (length) {
        var chars = "abcdefghijklmnopqrstuvwxyz0123456789";
        var out = "";
        for (var i = 0; i < length; i++) {
            out += chars.charAt(DG.randomInt(chars.length - 1));
        }
        return out;
    };

    // Paths come back from the daemon as the host OS writes them (/Users/... or C:\Users\...).
    DG.basename = function (path) {
        var parts = String(path).split(/[\\\/]/);
        return parts[parts.length - 1];
    };

    DG.dirname = function (path) {
        var text = String(path);
        var cut = Math.max(text.lastIndexOf("/"), text.lastIndexOf("\\"));
        return cut > 0 ? text.substring(0, cut) : text;
    };

    DG.stripExtension = function (name) {
        var dot = name.lastIndexOf(".");
        return dot > 0 ? name.substring(0, dot) : name;
    };

    DG.extension = function (path) {
        var name = DG.basename(path);
        var dot = name.lastIndexOf(".");
        return dot > 0 ? name.substring(dot + 1).toLowerCase() : "";
    };

    // Numbers shown to people: at most `digits` decimals, no trailing zeros.
    DG.fmt = function (value, digits) {
        var scale = Math.pow(10, digits === undefined ? 2 : digits);
        return String(Math.round(value * scale) / scale);
    };

    // Values sent to the daemon: rounded so float noise (10.322580645161290) does not travel.
    DG.round6 = function (value) {
        return Math.round(value * 1e6) / 1e6;
    };

    DG.plural = function (n, word) {
        return n + " " + word + (n === 1 ? "" : "s");
    };

    // Error codes of docs/PROTOCOL.md in words. `what` names the request ("vary with synth").
    var ERROR_WORDS = {
        bad_request: function (m, what) { return "dawgen refused " + what + ": " + m; },
        unknown_verb: function (m, what) {
            return "No model here can do " + what + " yet (" + m + "). Pick a model that does it, or install its backend.";
        },
        unknown_model: function (m) { return "No such model in the daemon's config: " + m; },
        model_unavailable: function (m) { return "That model can't run right now: " + m; },
        out_of_root: function (m) { return "The Folder setting must stay inside the daemon's output folder: " + m; },
        not_found: function (m) { return "The daemon doesn't know that job (was it restarted?): " + m; },
        duplicate_id: function (m) { return "Request id clash, press Generate again: " + m; },
        already_finished: function () { return "Nothing to cancel: the job had already finished."; },
        cancelled: function () { return "Cancelled."; },
        backend_failed: function (m) { return "The model failed: " + m; },
        write_failed: function (m) { return "The file could not be written: " + m; },
        out_of_memory: function (m) { return "Out of memory: ask for fewer or shorter results. " + m; },
        shutting_down: function () { return "The daemon is shutting down; start it again and retry."; },
        queue_full: function (m) { return "The daemon's queue is full; try again when some jobs have finished. " + m; },
        reply_too_large: function (m) { return "The answer was too big for one message; the files are made, see the daemon's folder. " + m; },
        device_unavailable: function (m) { return "The audio device is missing or busy: " + m; },
        internal: function (m) { return "dawgen hit a bug (details in the daemon's log): " + m; },
        unauthorized: function (m) {
            return "The daemon wants this device's token: type the token its admin gave you (dawgen token add) in Token. " + m;
        },
        forbidden: function (m) { return "The daemon does not allow that from this device: " + m; },
        download_failed: function (m) { return "The download failed: " + m; }
    };

    // The daemon is on this computer when the host is a loopback address: then it reads the clip's
    // file and writes results where Live reads them. Any other host is another machine (PROTOCOL.md,
    // "Clients on the LAN"): inputs are uploaded and results fetched into the project folder.
    DG.isLocalHost = function (host) {
        var h = DG.trim(host).toLowerCase().replace(/^\[|\]$/g, "");
        return h === "" || h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
    };

    // What the token field shows once a token is set: never the token itself.
    DG.TOKEN_MASK = "\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022";

    // "1.2 GB", "350 MB" from bytes (or null).
    DG.sizeText = function (bytes, gb) {
        var n = bytes !== null && bytes !== undefined && isFinite(Number(bytes)) ? Number(bytes) :
            (gb !== null && gb !== undefined && isFinite(Number(gb)) ? Number(gb) * 1e9 : null);
        if (n === null) {
            return "";
        }
        return n >= 1e9 ? DG.fmt(n / 1e9, 1) + " GB" : Math.max(1, Math.round(n / 1e6)) + " MB";
    };

    DG.describeError = function (code, message, what) {
        var words = ERROR_WORDS[code];
        var text = DG.trim(message);
        if (words) {
            return words(text, what || "the request");
        }
        return "Error " + code + ": " + text;
    };
})(DG);
