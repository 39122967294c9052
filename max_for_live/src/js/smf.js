// Standard MIDI File reader: bytes -> notes in beats, ready for Clip.add_new_notes.
//
// MIDI results arrive as .mid paths; Live's API cannot import a MIDI file, so the device reads the
// notes itself and writes them into a clip. Times are in quarter notes (Live's beats), which is what
// the file's ticks-per-quarter division gives; the file's own tempo is ignored (Live's tempo rules).
(function (DG) {
    function MidiError(message) {
        this.name = "MidiError";
        this.message = message;
    }
    MidiError.prototype = new Error();
    DG.MidiError = MidiError;

    function Reader(bytes, start, end) {
        this.bytes = bytes;
        this.pos = start;
        this.end = end;
    }

    Reader.prototype.u8 = function () {
        if (this.pos >= this.end) {
            throw new MidiError("the MIDI file ends in the middle of a track");
        }
        return this.bytes[this.pos++] & 0xff;
    };

    Reader.prototype.u16 = function () {
        return (this.u8() << 8) | this.u8();
    };

    Reader.prototype.u32 = function () {
        return ((this.u8() << 24) >>> 0) + ((this.u8() << 16) | (this.u8() << 8) | this.u8());
    };

    Reader.prototype.tag = function () {
        return String.fromCharCode(this.u8(), this.u8(), this.u8(), this.u8());
    };

    // Variable-length quantity: 7 bits per byte, high bit set on all but the last byte.
    Reader.prototype.vlq = function () {
        var value = 0;
        for (var i = 0; i < 4; i++) {
            var b = this.u8();
            value = value * 128 + (b & 0x7f);
            if (!(b & 0x80)) {
                return value;
            }
        }
        throw new MidiError("bad variable-length number in the MIDI file");
    };

    function readHeader(r) {
        if (r.tag() !== "MThd") {
            throw new MidiError("not a MIDI file (no MThd header)");
        }
        var size = r.u32();
        var format = r.u16(), tracks = r.u16(), division = r.u16();
        r.pos += size - 6;
        if (division & 0x8000) {
            throw new MidiError("SMPTE-timed MIDI files are not supported");
        }
        if (division === 0) {
            throw new MidiError("the MIDI file's division is 0");
        }
        return {format: format, tracks: tracks, division: division};
    }

    // Meta events kept as text: 0x01 text, 0x03 track name, 0x06 marker (dawgen's chord symbols).
    var TEXT_META = {1: "text", 3: "name", 6: "marker"};

    function metaText(r, len) {
        var chars = [];
        for (var i = 0; i < len; i++) {
            chars.push(String.fromCharCode(r.u8()));
        }
        try {
            return decodeURIComponent(escape(chars.join(""))); // UTF-8 bytes -> text
        } catch (err) {
            return chars.join(""); // not UTF-8: Latin-1 as it is
        }
    }

    // Reads one MTrk chunk; calls onNote(channel, pitch, velocity, tick) (velocity 0 = note off) and
    // onMeta(kind, text, tick) for the TEXT_META events.
    function readTrack(r, onNote, onEnd, onMeta) {
        var tick = 0, status = 0;
        while (r.pos < r.end) {
            tick += r.vlq();
            var b = r.u8();
            if (b === 0xff) {
                var type = r.u8(), len = r.vlq();
                if (TEXT_META[type]) {
                    onMeta(TEXT_META[type], metaText(r, len), tick);
                    continue;
                }
                r.pos += len;
                if (type === 0x2f) {
                    break;
                }
                continue;
            }
            if (b === 0xf0 || b === 0xf7) {
                r.pos += r.vlq();
                continue;
            }
            var data1;
            if (b & 0x80) {
                status = b;
                data1 = r.u8();
            } else {
                if (!status) {
                    throw new MidiError("running status without a status byte");
                }
                data1 = b; // running status: b is already the first data byte
            }
            var kind = status & 0xf0, channel = status & 0x0f;
            if (kind === 0xc0 || kind === 0xd0) {
                continue; // one data byte
            }
            var data2 = r.u8();
            if (kind === 0x90) {
                onNote(channel, data1, data2, tick);
            } else if (kind === 0x80) {
                onNote(channel, data1, 0, tick);
            }
        }
        onEnd(tick);
    }

    // Chord symbols at their beats: the markers when the file has any, else its text events (dawgen
    // writes each chord's symbol as one or both, at the chord's start), once per beat and symbol.
    function chordSymbols(metas) {
        var kind = "text", out = [], seen = {};
        for (var i = 0; i < metas.length; i++) {
            if (metas[i].kind === "marker") {
                kind = "marker";
            }
        }
        for (var j = 0; j < metas.length; j++) {
            var m = metas[j], key = m.beat + " " + m.text;
            if (m.kind === kind && DG.trim(m.text) && !seen[key]) {
                seen[key] = true;
                out.push({beat: m.beat, symbol: DG.trim(m.text)});
            }
        }
        out.sort(function (a, b) {
            return a.beat - b.beat;
        });
        return out;
    }

    // Returns {notes: [{pitch, start_time, duration, velocity, mute}], lengthBeats, tracks,
    //          trackList: [{name, notes}] (every MTrk, in file order), chords: [{beat, symbol}]}.
    DG.parseMidi = function (bytes) {
        var r = new Reader(bytes, 0, bytes.length);
        var header = readHeader(r);
        var notes = [], open = {}, lastTick = 0, trackList = [], current = null, metas = [];
        var onMeta = function (kind, textValue, tick) {
            if (kind === "name" && !current.name) {
                current.name = DG.trim(textValue);
            } else if (kind !== "name") {
                metas.push({kind: kind, text: textValue, beat: tick / header.division});
            }
        };
        var onNote = function (channel, pitch, velocity, tick) {
            var key = channel + ":" + pitch;
            if (velocity > 0) {
                (open[key] = open[key] || []).push({tick: tick, velocity: velocity});
                return;
            }
            var started = open[key] && open[key].shift();
            if (started && tick > started.tick) {
                current.notes.push({
                    pitch: pitch,
                    start_time: started.tick / header.division,
                    duration: (tick - started.tick) / header.division,
                    velocity: started.velocity,
                    mute: 0
                });
            }
        };
        var onEnd = function (tick) {
            lastTick = Math.max(lastTick, tick);
        };
        for (var t = 0; t < header.tracks && r.pos < bytes.length; t++) {
            var tag = r.tag(), size = r.u32();
            var end = Math.min(r.pos + size, bytes.length);
            if (tag === "MTrk") {
                current = {name: "", notes: []};
                open = {}; // a note is ended by its own track
                trackList.push(current);
                readTrack(new Reader(bytes, r.pos, end), onNote, onEnd, onMeta);
                notes = notes.concat(current.notes);
            }
            r.pos = end;
        }
        var byTime = function (a, b) {
            return a.start_time - b.start_time || a.pitch - b.pitch;
        };
        notes.sort(byTime);
        for (var k = 0; k < trackList.length; k++) {
            trackList[k].notes.sort(byTime);
        }
        var lastNoteEnd = 0;
        for (var i = 0; i < notes.length; i++) {
            lastNoteEnd = Math.max(lastNoteEnd, notes[i].start_time + notes[i].duration);
        }
        return {
            notes: notes,
            lengthBeats: Math.max(lastTick / header.division, lastNoteEnd),
            tracks: header.tracks,
            trackList: trackList,
            chords: chordSymbols(metas)
        };
    };
})(DG);
