// Warping new audio clips so that they play in time. Live auto-warps an imported file by guessing
// its tempo, and the guess can stretch a loop that is already exact. dawgen knows each result's
// length in beats (it renders loops to the bar at the tempo it was sent), so the device says so:
// warping on, one warp marker at beat 0 and one at the last beat, each at its exact time in the
// file; Beats mode for drums, Complex for everything else (full mixes, melodic loops); loop on for
// loops. One-shots play as recorded: warping off. Stems and results of unknown length keep Live's
// own settings (stems line up sample for sample with their source and must not be bent).
(function (DG) {
    var Live = DG.Live;
    var text = Live.text;

    // Clip.warp_mode values (LOM): 0 Beats, 1 Tones, 2 Texture, 3 Re-Pitch, 4 Complex, 6 Complex Pro.
    DG.WARP_BEATS = 0;
    DG.WARP_COMPLEX = 4;

    var DRUM_WORDS = /\b(drums?|kicks?|snares?|hats?|hi-?hats?|cymbals?|claps?|toms?|perc\w*|breaks?|breakbeats?|beats?|grooves?|shakers?|rims?)\b/i;

    DG.isDrums = function (words) {
        return DRUM_WORDS.test(String(words || "").replace(/[_\-]+/g, " "));
    };

    // How to warp one result. side: the file's sidecar .json (parsed), or null when unreadable.
    // meta: the request (mode, prompt, beats and bpm it asked for). Returns null (leave Live's),
    // {warp: false}, or {warp: true, beats, seconds, loop, mode}.
    DG.warpPlan = function (meta, side) {
        var post = side && side.post, grid = post && post.grid;
        var prompt = (side && side.params && side.params.prompt) || meta.prompt || "";
        if (meta.mode.result !== "audio") {
            return null;
        }
        if (grid && Number(grid.beats) > 0 && Number(grid.bpm) > 0) {
            var rate = side.audio && Number(side.audio.sample_rate);
            var seconds = rate && Number(grid.frames) > 0 ? grid.frames / rate : grid.beats * 60 / grid.bpm;
            return {warp: true, beats: Number(grid.beats), seconds: seconds, loop: post.loop !== false,
                mode: DG.isDrums(prompt) ? DG.WARP_BEATS : DG.WARP_COMPLEX};
        }
        if (post && !post.skipped) {
            return {warp: false}; // no grid: a one-shot, trimmed and normalised as it is
        }
        if (!side && meta.mode.key === "oneshot") {
            return {warp: false};
        }
        if (!side && meta.mode.key === "loop" && meta.beats > 0 && meta.bpm > 0) {
            return {warp: true, beats: meta.beats, seconds: meta.beats * 60 / meta.bpm, loop: true,
                mode: DG.isDrums(prompt) ? DG.WARP_BEATS : DG.WARP_COMPLEX};
        }
        return null;
    };

    function markers(clip) {
        try {
            var parsed = JSON.parse(text(clip.get("warp_markers")));
            var list = parsed && parsed.warp_markers !== undefined ? parsed.warp_markers : parsed;
            return list && list.length !== undefined ? list : [];
        } catch (err) {
            return [];
        }
    }

    function near(a, b) {
        return Math.abs(Number(a) - Number(b)) < 1e-4;
    }

    // Applies a plan to a new clip; what did not take is added to `problems` (nothing throws: the
    // clip is placed either way, only its timing may be Live's guess).
    Live.prototype.warpClip = function (clip, plan, problems, name) {
        if (!plan) {
            return;
        }
        if (!plan.warp) {
            clip.set("warping", 0);
            return;
        }
        clip.set("warping", 1);
        clip.set("warp_mode", plan.mode);
        if (this.has(clip, "add_warp_marker")) { // Live 11 and later
            var old = markers(clip), i;
            // Live's auto-warp markers first: a marker of ours next to one of its guesses would not fit.
            for (i = old.length - 1; i >= 0; i--) {
                if (!near(old[i].beat_time, 0)) {
                    clip.call("remove_warp_marker", Number(old[i].beat_time));
                }
            }
            clip.call("add_warp_marker", {beat_time: 0, sample_time: 0});
            clip.call("add_warp_marker", {beat_time: plan.beats, sample_time: DG.round6(plan.seconds)});
            var ok = false, now = markers(clip);
            for (i = 0; i < now.length; i++) {
                ok = ok || (near(now[i].beat_time, plan.beats) && near(now[i].sample_time, DG.round6(plan.seconds)));
            }
            if (!ok) {
                problems.push(name + ": its warp markers could not be set (check the clip's warping)");
            }
        }
        if (plan.loop) {
            clip.set("looping", 1);
            clip.set("loop_start", 0);
            clip.set("loop_end", plan.beats);
        }
    };
})(DG);
