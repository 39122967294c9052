// The .amxd container (as Ableton's maxdevtools amxd_textconv.py reads it): little-endian chunks
// [4-byte tag][u32 size][data]: `ampf` (device type), `meta` (flags), `ptch` (patcher JSON, NUL-terminated).
// Node-only (the build and the tests); Max never loads this file.
"use strict";

const DEVICE_TYPES = { aaaa: "audio effect", mmmm: "MIDI effect", iiii: "instrument" };

class AmxdError extends Error {}

// The patcher's project.amxdtype is the device type's four letters read as a big-endian int.
function amxdType(tag) {
  return Buffer.from(tag, "ascii").readUInt32BE(0);
}

function chunk(tag, data) {
  const head = Buffer.alloc(8);
  head.write(tag, 0, "ascii");
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data]);
}

// patcherText: the JSON text exactly as it should be stored.
function writeAmxd({ type = "aaaa", meta = 0, patcherText }) {
  if (!DEVICE_TYPES[type]) throw new AmxdError(`unknown device type ${type}`);
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE(meta, 0);
  const ptch = Buffer.concat([Buffer.from(patcherText, "utf8"), Buffer.from([0])]);
  return Buffer.concat([chunk("ampf", Buffer.from(type, "ascii")), chunk("meta", flags), chunk("ptch", ptch)]);
}

// Parses chunk by chunk and checks everything Live relies on; throws AmxdError naming what is wrong.
function readAmxd(buffer) {
  const chunks = [];
  let pos = 0;
  while (pos < buffer.length) {
    if (pos + 8 > buffer.length) throw new AmxdError(`truncated chunk header at byte ${pos}`);
    const tag = buffer.toString("ascii", pos, pos + 4);
    const size = buffer.readUInt32LE(pos + 4);
    if (pos + 8 + size > buffer.length) throw new AmxdError(`chunk ${tag} at byte ${pos} claims ${size} bytes past the end`);
    chunks.push({ tag, offset: pos, size, data: buffer.subarray(pos + 8, pos + 8 + size) });
    pos += 8 + size;
  }
  const byTag = Object.fromEntries(chunks.map((c) => [c.tag, c]));
  for (const tag of ["ampf", "meta", "ptch"]) {
    if (!byTag[tag]) throw new AmxdError(`missing ${tag} chunk`);
  }
  const unknown = chunks.filter((c) => !["ampf", "meta", "ptch"].includes(c.tag));
  if (unknown.length) throw new AmxdError(`unknown chunk ${unknown[0].tag}`);
  const type = byTag.ampf.data.toString("ascii");
  if (byTag.ampf.size !== 4 || !DEVICE_TYPES[type]) throw new AmxdError(`bad device type ${JSON.stringify(type)}`);
  if (byTag.meta.size !== 4) throw new AmxdError("meta chunk must hold 4 bytes");
  const ptch = byTag.ptch.data;
  if (ptch.subarray(0, 4).toString("ascii") === "mx@c") throw new AmxdError("frozen device (mx@c): not produced by this build");
  if (ptch[ptch.length - 1] !== 0) throw new AmxdError("patcher JSON is not NUL-terminated");
  const text = ptch.subarray(0, ptch.length - 1).toString("utf8");
  let json;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AmxdError(`patcher JSON does not parse: ${err.message}`);
  }
  const declared = json.patcher && json.patcher.project && json.patcher.project.amxdtype;
  if (declared !== amxdType(type)) throw new AmxdError(`project.amxdtype ${declared} does not match ampf ${type}`);
  return { chunks, type, meta: byTag.meta.data.readUInt32LE(0), patcherText: text, patcher: json };
}

module.exports = { AmxdError, DEVICE_TYPES, amxdType, writeAmxd, readAmxd };
