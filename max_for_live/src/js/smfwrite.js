// Standard MIDI File writer, and base64: a MIDI clip of the Live Set as a .mid the daemon reads.
//
// The harmony modes send the selected MIDI clip (a melody to harmonise, chords to put a bass or a
// melody over). A Live MIDI clip has no file, so the device writes one: a type-0 file at 480 ticks
// per quarter holding the Set's tempo and meter, the clip's name and its notes, ending exactly at the
// clip's length (so the daemon sees the clip's bars, trailing rests included). It travels as
// `input_blob` over TCP (remote.js, dawgen_net.js): no file is left anywhere on this computer.
(function (DG) {
    var PPQ = 480;

    function vlq(n) {
        var out = [n & 0x7f];
        n = Math.floor(n / 128);
        while (n > 0) {
            out.unshift((n & 0x7f) | 0x80);
            n = Math.floor(n / 128);
        }
        return out;
    }

    function utf8(text) {
        var raw = unescape(encodeURIComponent(String(text))), out = [];
        for (var i = 0; i < raw.length; i++) {
            out.push(raw.charCodeAt(i));
        }
        return out;
    }

    function u32(n) {
        return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    }

    // Events {tick, order, bytes}: note-offs sort before note-ons at the same tick (order 0 < 1), so a
    // note repeated back to back is not cut by its own predecessor's end.
    function noteEvents(notes) {
        var events = [];
        for (var i = 0; i < notes.length; i++) {
            var n = notes[i];
            if (n.mute) {
                continue; // a muted note is not heard: the daemon should not harmonise it either
            }
            var pitch = DG.clamp(Math.round(n.pitch), 0, 127);
            var velocity = DG.clamp(Math.round(n.velocity), 1, 127);
            var on = Math.max(0, Math.round(n.start_time * PPQ));
            var off = Math.max(on + 1, Math.round((n.start_time + n.duration) * PPQ));
            events.push({tick: on, order: 1, bytes: [0x90, pitch, velocity]});
            events.push({tick: off, order: 0, bytes: [0x80, pitch, 0]});
        }
        events.sort(function (a, b) {
            return a.tick - b.tick || a.order - b.order;
        });
        return events;
    }

    // clip: {name, notes: [{pitch, start_time, duration, velocity, mute}], lengthBeats}; song: {tempo,
    // sigNum, sigDen}. Returns the file's bytes (numbers 0..255).
    DG.writeMidi = function (clip, song) {
        var micros = Math.round(60000000 / song.tempo);
        var denPower = Math.round(Math.log(song.sigDen) / Math.LN2);
        var name = utf8(clip.name || "clip");
        var body = [0, 0xff, 0x03].concat(vlq(name.length), name);
        body = body.concat([0, 0xff, 0x51, 3, (micros >> 16) & 255, (micros >> 8) & 255, micros & 255]);
        body = body.concat([0, 0xff, 0x58, 4, song.sigNum, denPower, 24, 8]);
        var events = noteEvents(clip.notes), tick = 0;
        for (var i = 0; i < events.length; i++) {
            body = body.concat(vlq(events[i].tick - tick), events[i].bytes);
            tick = events[i].tick;
        }
        var end = Math.max(tick, Math.round(clip.lengthBeats * PPQ));
        body = body.concat(vlq(end - tick), [0xff, 0x2f, 0]);
        var header = [0x4d, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0, 0, 1, (PPQ >> 8) & 255, PPQ & 255];
        return header.concat([0x4d, 0x54, 0x72, 0x6b], u32(body.length), body);
    };

    var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    // Bytes as base64 text: how the bytes reach the Node helper inside one Max message.
    DG.base64 = function (bytes) {
        var out = "";
        for (var i = 0; i < bytes.length; i += 3) {
            var a = bytes[i], b = bytes[i + 1], c = bytes[i + 2];
            var n = (a << 16) | ((b || 0) << 8) | (c || 0);
            out += B64.charAt((n >> 18) & 63) + B64.charAt((n >> 12) & 63) +
                (b === undefined ? "=" : B64.charAt((n >> 6) & 63)) + (c === undefined ? "=" : B64.charAt(n & 63));
        }
        return out;
    };
})(DG);
