// Building the OSC requests of docs/PROTOCOL.md from the device's settings and the Live Set.
//
// A request is a Max list: the address, the request id, then key/value pairs, with reply_port last
// (udpsend's source port does not listen, so the daemon must be told where to answer). Max's udpsend
// turns symbols into OSC strings, whole numbers into ints and other numbers into 32-bit floats.
(function (DG) {
    // Beats per bar in Live's beat unit (quarter notes): 3/4 -> 3, 6/8 -> 3, 7/8 -> 3.5.
    DG.beatsPerBar = function (num, den) {
        return num * 4 / den;
    };

    DG.barsToSeconds = function (bars, num, den, bpm) {
        return bars * DG.beatsPerBar(num, den) * 60 / bpm;
    };

    // The catalogue is the parsed /dawgen/models reply. "" means the daemon's default model.
    DG.findModel = function (catalogue, name) {
        if (!catalogue) {
            return null;
        }
        for (var i = 0; i < catalogue.length; i++) {
            var entry = catalogue[i];
            if (name ? entry.name === name : entry.default) {
                return entry;
            }
        }
        return null;
    };

    // The parameter names a model declares for a verb, as a set, or null when the catalogue does not
    // know that verb for that model (then the device sends the documented conventions as they are).
    DG.declaredParams = function (catalogue, modelName, verb) {
        var model = DG.findModel(catalogue, modelName);
        // No model named: the daemon takes its default model when it does the verb, else the first
        // model that does (docs/PROTOCOL.md, `model`): the built-in midi for the MIDI modes.
        for (var k = 0; !modelName && catalogue && k < catalogue.length && !(model && model.verbs && model.verbs[verb]); k++) {
            model = catalogue[k];
        }
        if (!model || !model.verbs || !model.verbs[verb]) {
            return null;
        }
        var names = {};
        var params = model.verbs[verb];
        for (var i = 0; i < params.length; i++) {
            names[params[i].name] = true;
        }
        return names;
    };

    // LoRA adapters (issue #17): the device offers two, picked from the chosen model's `loras` in the
    // /dawgen/models reply, each with a strength. DG.LORA_SLOTS is how many pickers the device has.
    DG.LORA_SLOTS = 2;
    DG.LORA_MIN = -2;
    DG.LORA_MAX = 2;
    DG.LORA_DEFAULT = 1;

    // The adapter names the model lists (in the daemon's order), or [] when it lists none or the
    // catalogue does not know the model.
    DG.loraNames = function (catalogue, modelName) {
        var model = DG.findModel(catalogue, modelName), names = [];
        var loras = model && model.loras && model.loras.length !== undefined ? model.loras : [];
        for (var i = 0; i < loras.length; i++) {
            var name = loras[i] && typeof loras[i] === "object" ? loras[i].name : loras[i];
            if (typeof name === "string" && name) {
                names.push(name);
            }
        }
        return names;
    };

    // The `lora` parameter: "name:strength,name2:strength" (docs/PROTOCOL.md). picks = [{name, strength}];
    // an empty name is "none"; a pick that is not in `available` (the model's list now) is dropped,
    // and so is a second pick of the same adapter. "" when nothing is left: then no `lora` is sent.
    DG.loraParam = function (picks, available) {
        var parts = [], seen = {}, known = {}, i;
        for (i = 0; i < available.length; i++) {
            known[available[i]] = true;
        }
        for (i = 0; i < picks.length; i++) {
            var name = DG.trim(picks[i].name);
            if (!name || !known[name] || seen[name]) {
                continue;
            }
            seen[name] = true;
            var strength = DG.clamp(DG.toNumber(picks[i].strength, DG.LORA_DEFAULT), DG.LORA_MIN, DG.LORA_MAX);
            parts.push(name + ":" + DG.fmt(strength, 3));
        }
        return parts.join(",");
    };

    DG.loraPicks = function (s) {
        return [{name: s.lora1, strength: s.lora1Strength}, {name: s.lora2, strength: s.lora2Strength}];
    };

    // How long the result should be. Loops and MIDI say it in bars of the Live Set's meter: with a
    // model that declares `time_signature` the bars travel as they are, otherwise they are turned into
    // the 4/4 bars the protocol's `bars` means (2 bars of 3/4 = 1.5). A model that takes `seconds`
    // but no `bars` gets seconds at the Set's tempo.
    function lengthPairs(ctx, bars, declared, preferSeconds) {
        var num = ctx.sigNum, den = ctx.sigDen;
        var seconds = ["seconds", DG.round6(DG.barsToSeconds(bars, num, den, ctx.tempo))];
        if (declared && !declared.bars && declared.seconds) {
            return [seconds];
        }
        if (preferSeconds && !(declared && declared.bars && !declared.seconds)) {
            return [seconds];
        }
        if (declared && declared.time_signature) {
            return [["bars", bars], ["time_signature", num + "/" + den]];
        }
        return [["bars", DG.round6(bars * DG.beatsPerBar(num, den) / 4)]];
    }

    DG.lengthPairs = lengthPairs; // harmony.js builds its MIDI lengths the same way

    function clipProblem(mode, clip) {
        if (!clip) {
            return "Select an audio clip first: " + mode.label + " works on the clip shown in Clip View.";
        }
        if (!clip.audio) {
            return "The selected clip is a MIDI clip; " + mode.label + " needs an audio clip.";
        }
        if (!clip.path) {
            return "The selected clip has no file on disk (Live reports no file_path).";
        }
        return "";
    }

    // The key/value pairs of one request, before filtering. Each entry: [name, value, onlyIfDeclared].
    function modePairs(mode, s, ctx, declared, seed) {
        var prompt = DG.trim(s.prompt);
        var pairs = [];
        var withPrompt = function () {
            if (prompt) {
                pairs.push(["prompt", prompt]);
            }
        };
        var withSeed = function () {
            pairs.push(["seed", seed]);
            pairs.push(["count", s.count]);
        };
        var add = function (list) {
            for (var i = 0; i < list.length; i++) {
                pairs.push(list[i]);
            }
        };
        if (mode.key === "oneshot") {
            withPrompt();
            pairs.push(["bpm", ctx.tempo, true]); // risers follow the tempo when the model takes it
            withSeed();
        } else if (mode.key === "loop") {
            withPrompt();
            add(lengthPairs(ctx, s.bars, declared, false));
            pairs.push(["bpm", ctx.tempo]);
            withSeed();
        } else if (mode.key === "continue") {
            pairs.push(["input", ctx.clip.path]);
            withPrompt();
            add(lengthPairs(ctx, s.bars, declared, true));
            pairs.push(["bpm", ctx.tempo, true]);
            withSeed();
        } else if (mode.key === "vary") {
            pairs.push(["input", ctx.clip.path]);
            withPrompt();
            pairs.push(["strength", DG.round6(s.strength)]);
            withSeed();
        } else if (mode.key === "stems") {
            pairs.push(["input", ctx.clip.path]);
        } else if (mode.harmony) {
            add(DG.harmonyPairs(mode, s, ctx, declared));
            withSeed();
        } else {
            pairs.push(["kind", mode.midiKind]);
            add(lengthPairs(ctx, s.bars, declared, false));
            pairs.push(["bpm", ctx.tempo]);
            withSeed();
        }
        return pairs;
    }

    // opts: {mode (index into DG.MODES), settings, ctx {tempo, sigNum, sigDen, clip}, catalogue,
    //        reqId, replyPort, seed}
    // Returns {ok: true, list, verb, address, sent: {name: value}} or {ok: false, error}.
    DG.buildRequest = function (opts) {
        var mode = DG.MODES[opts.mode];
        if (!mode) {
            return {ok: false, error: "Unknown mode " + opts.mode};
        }
        if (mode.needsClip || mode.clipInput) {
            var problem = mode.clipInput ? DG.midiClipProblem(mode, opts.ctx.clip) : clipProblem(mode, opts.ctx.clip);
            if (problem) {
                return {ok: false, error: problem};
            }
        }
        var s = opts.settings;
        var declared = DG.declaredParams(opts.catalogue, s.model, mode.verb);
        var pairs = modePairs(mode, s, opts.ctx, declared, opts.seed);
        if (s.model) {
            pairs.push(["model", s.model]);
        }
        // Only models that declare `lora` for this verb get one, and only adapters they list.
        var lora = DG.loraParam(DG.loraPicks(s), DG.loraNames(opts.catalogue, s.model));
        if (lora) {
            pairs.push(["lora", lora, true]);
        }
        if (DG.trim(s.folder)) {
            pairs.push(["dir", DG.trim(s.folder)]);
        }
        var address = "/dawgen/" + mode.verb;
        var list = [address, opts.reqId];
        var sent = {};
        for (var i = 0; i < pairs.length; i++) {
            var name = pairs[i][0], onlyIfDeclared = pairs[i][2];
            // When the daemon has told us what this model takes, send nothing else: a parameter it
            // does not declare would be refused as unknown.
            if (declared ? !declared[name] && name !== "model" : onlyIfDeclared) {
                continue;
            }
            list.push(name, pairs[i][1]);
            sent[name] = pairs[i][1];
        }
        list.push("reply_port", opts.replyPort);
        return {ok: true, list: list, verb: mode.verb, address: address, sent: sent, mode: mode};
    };

    // Every address takes `token` (PROTOCOL.md, "Clients on the LAN"): the client's token, sent with
    // every request when one is set, just before reply_port (which stays last). A new list; the
    // token is never put anywhere else (not in the console, not in the status line).
    DG.withToken = function (list, token) {
        token = DG.trim(token);
        var out = list.slice();
        if (!token) {
            return out;
        }
        for (var i = 2; i < out.length; i += 2) {
            if (out[i] === "token") {
                out[i + 1] = token;
                return out;
            }
        }
        var at = out.length >= 4 && out[out.length - 2] === "reply_port" ? out.length - 2 : out.length;
        out.splice(at, 0, "token", token);
        return out;
    };

    // `/dawgen/pull req_id name NAME`: a catalog model, as a job (PROTOCOL.md, /dawgen/pull).
    DG.pullRequest = function (reqId, name, replyPort) {
        return ["/dawgen/pull", reqId, "name", name, "reply_port", replyPort];
    };

    // Control requests: ping, models, cancel and status by job (or request) id.
    DG.controlRequest = function (verb, reqId, replyPort, job) {
        var list = ["/dawgen/" + verb, reqId];
        if (job !== undefined) {
            list.push("job", job);
        }
        list.push("reply_port", replyPort);
        return list;
    };
})(DG);
