// dawgen_net.js: the device's TCP side, run by Max's [node.script] (Node for Max) beside [js dawgen.js].
//
// A dawgen daemon on another computer (docs/PROTOCOL.md, "Clients on the LAN") takes a clip's file
// only as an OSC blob over TCP (`input_blob` + `input_name`) and sends results only over TCP
// (`/dawgen/fetch` answered by `/dawgen/file` chunks). Max's [udpsend] speaks UDP and the [js]
// object has no sockets, so this script does those two things and nothing else:
//   in:  send  <uri-encoded JSON {id, host, port, list, upload: {key, path} | {key, name, base64} | null}>
//        fetch <uri-encoded JSON {id, host, port, token, paths, folder}>
//        discover <uri-encoded JSON {id, dawgen, seconds}>: runs `dawgen discover --json` (the
//             executable at `dawgen`, else found on PATH or where dawgen is usually installed)
//   out: every reply the daemon sends on the connection, as [udpreceive] outputs one (the OSC
//        address, then its arguments), and netready, neterror ID TEXT, fetchprogress ID FRACTION,
//        fetched ID LOCAL_PATH..., fetchfailed ID TEXT, discovered ID <uri-encoded JSON [{name, host,
//        port, token, version, addresses}]>, discoverfailed ID TEXT.
// It is hand-written (not generated) and needs only Node's own modules. Tokens travel in the
// requests; nothing here logs a request.
"use strict";

const net = require("net");
const fs = require("fs");
const path = require("path");
const os = require("os");
const childProcess = require("child_process");

// ---- OSC 1.0 messages ---------------------------------------------------------------------------
function pad4(n) {
  return (4 - (n % 4)) % 4;
}

function oscString(text) {
  const bytes = Buffer.from(String(text), "utf8");
  return Buffer.concat([bytes, Buffer.alloc(1 + pad4(bytes.length + 1))]);
}

// Atoms as Max's [udpsend] types them: whole numbers -> int32, other numbers -> float32, text ->
// string; a Buffer -> blob.
function encodeMessage(address, args) {
  let tags = ",";
  const parts = [];
  for (const arg of args) {
    if (Buffer.isBuffer(arg)) {
      tags += "b";
      const size = Buffer.alloc(4);
      size.writeUInt32BE(arg.length);
      parts.push(size, arg, Buffer.alloc(pad4(arg.length)));
    } else if (typeof arg === "number" && Number.isInteger(arg) && arg >= -2147483648 && arg <= 2147483647) {
      tags += "i";
      const b = Buffer.alloc(4);
      b.writeInt32BE(arg);
      parts.push(b);
    } else if (typeof arg === "number") {
      tags += "f";
      const b = Buffer.alloc(4);
      b.writeFloatBE(arg);
      parts.push(b);
    } else {
      tags += "s";
      parts.push(oscString(arg));
    }
  }
  return Buffer.concat([oscString(address), oscString(tags)].concat(parts));
}

function readString(buf, at) {
  const end = buf.indexOf(0, at);
  if (end < 0) throw new Error("OSC string without its end");
  return { value: buf.toString("utf8", at, end), next: end + 1 + pad4(end + 1 - at) };
}

// One OSC packet -> [{address, args}] (a bundle gives each of its messages).
function decodePacket(buf) {
  if (buf.length >= 8 && buf.toString("latin1", 0, 8) === "#bundle\0") {
    const out = [];
    let at = 16;
    while (at + 4 <= buf.length) {
      const size = buf.readUInt32BE(at);
      out.push(...decodePacket(buf.subarray(at + 4, at + 4 + size)));
      at += 4 + size;
    }
    return out;
  }
  const address = readString(buf, 0);
  let at = address.next;
  const args = [];
  if (at < buf.length && buf[at] === 0x2c) {
    const tags = readString(buf, at);
    at = tags.next;
    for (const tag of tags.value.slice(1)) {
      if (tag === "i") { args.push(buf.readInt32BE(at)); at += 4; }
      else if (tag === "f") { args.push(buf.readFloatBE(at)); at += 4; }
      else if (tag === "h") { args.push(Number(buf.readBigInt64BE(at))); at += 8; }
      else if (tag === "d") { args.push(buf.readDoubleBE(at)); at += 8; }
      else if (tag === "s" || tag === "S") { const s = readString(buf, at); args.push(s.value); at = s.next; }
      else if (tag === "b") {
        const size = buf.readUInt32BE(at);
        args.push(Buffer.from(buf.subarray(at + 4, at + 4 + size)));
        at += 4 + size + pad4(size);
      }
      else if (tag === "T") args.push(1);
      else if (tag === "F") args.push(0);
      else if (tag === "N" || tag === "I") args.push("");
      else throw new Error(`OSC type ${tag} not understood`);
    }
  }
  return [{ address: address.value, args }];
}

// ---- SLIP framing (OSC 1.1 over TCP: the daemon answers SLIP when the stream starts with END) ---------
const END = 0xc0, ESC = 0xdb, ESC_END = 0xdc, ESC_ESC = 0xdd;

function slipEncode(packet) {
  const out = [END];
  for (const byte of packet) {
    if (byte === END) out.push(ESC, ESC_END);
    else if (byte === ESC) out.push(ESC, ESC_ESC);
    else out.push(byte);
  }
  out.push(END);
  return Buffer.from(out);
}

class SlipReader {
  constructor() {
    this.frame = [];
    this.escaped = false;
  }

  // Bytes in, whole packets out.
  push(chunk) {
    const packets = [];
    for (const byte of chunk) {
      if (this.escaped) {
        this.frame.push(byte === ESC_END ? END : byte === ESC_ESC ? ESC : byte);
        this.escaped = false;
      } else if (byte === ESC) {
        this.escaped = true;
      } else if (byte === END) {
        if (this.frame.length) packets.push(Buffer.from(this.frame));
        this.frame = [];
      } else {
        this.frame.push(byte);
      }
    }
    return packets;
  }
}

// ---- one TCP connection per daemon ----------------------------------------------------------------
class Link {
  constructor(host, port, connect, onMessage, onGone) {
    this.reader = new SlipReader();
    this.ids = new Set(); // requests sent here and not answered yet
    this.socket = connect({ host, port });
    this.socket.on("data", (chunk) => {
      for (const packet of this.reader.push(chunk)) {
        let messages;
        try {
          messages = decodePacket(packet);
        } catch (err) {
          continue; // not OSC: nothing to hand on
        }
        for (const m of messages) onMessage(this, m.address, m.args);
      }
    });
    this.socket.on("error", (err) => {
      this.error = err.code === "ECONNREFUSED" ? `nothing listens at ${host}:${port} (is dawgen serve running there?)` :
        err.message;
    });
    this.socket.on("close", () => onGone(this, this.error || "the connection closed"));
  }

  write(packet) {
    this.socket.write(slipEncode(packet));
  }
}

class Net {
  // outlet(...atoms): to the [js]. connect(options) -> a net.Socket (tests may pass their own).
  // spawn(file, args) -> a ChildProcess; env and platform: where `dawgen` is looked for (tests pass fakes).
  constructor(outlet, { connect = (o) => net.createConnection(o), home = os.homedir(),
    spawn = (file, args) => childProcess.spawn(file, args, { windowsHide: true }), env = process.env,
    platform = process.platform, isFile = defaultIsFile } = {}) {
    this.outlet = outlet;
    this.connect = connect;
    this.home = home;
    this.spawn = spawn;
    this.env = env;
    this.platform = platform;
    this.isFile = isFile;
    this.discovering = null; // the `dawgen discover` running now
    this.links = new Map();
    this.fetching = new Map(); // fetch request id -> {job, target, part, fd, ...}
  }

  handle(op, encoded) {
    let payload;
    try {
      payload = JSON.parse(decodeURIComponent(String(encoded)));
    } catch (err) {
      this.outlet("neterror", "", `unreadable ${op} message`);
      return;
    }
    try {
      if (op === "send") this.send(payload);
      else if (op === "fetch") this.fetch(payload);
      else if (op === "discover") this.discover(payload);
      else this.outlet("neterror", payload.id || "", `unknown operation ${op}`);
    } catch (err) {
      const failed = { fetch: "fetchfailed", discover: "discoverfailed" }[op] || "neterror";
      this.outlet(failed, payload.id || "", err.message);
    }
  }

  linkFor(host, port) {
    const key = `${host}:${port}`;
    let link = this.links.get(key);
    if (!link) {
      link = new Link(host, port, this.connect, (l, address, args) => this.onMessage(l, address, args),
        (l, why) => this.onGone(key, l, why));
      this.links.set(key, link);
    }
    return link;
  }

  // A request; with `upload`, the pair `key PATH` becomes `input_blob <bytes> input_name <name>`.
  send({ id, host, port, list, upload }) {
    const args = list.slice(1);
    if (upload) {
      let at = -1;
      for (let i = 1; i + 1 < args.length; i += 2) if (args[i] === upload.key) at = i;
      if (at < 0) throw new Error(`the request has no ${upload.key} to upload`);
      let bytes;
      try { // a file of this computer, or bytes the device made (a MIDI clip written as .mid)
        bytes = upload.base64 !== undefined ? Buffer.from(upload.base64, "base64") : fs.readFileSync(upload.path);
      } catch (err) {
        throw new Error(`can't read ${upload.path} to upload it: ${err.code || err.message}`);
      }
      const name = upload.name || path.basename(String(upload.path).replace(/\\/g, "/"));
      args.splice(at, 2, "input_blob", bytes, "input_name", name);
    }
    const link = this.linkFor(host, port);
    link.ids.add(String(id));
    link.write(encodeMessage(list[0], args));
  }

  // Download each path, one after another, into `folder` (made if missing): a `.part` file renamed
  // when complete, under a free name (take.wav, take-2.wav...) so nothing in the project is overwritten.
  fetch({ id, host, port, token, paths, folder }) {
    const dir = folder || path.join(this.home, "Music", "dawgen");
    fs.mkdirSync(dir, { recursive: true });
    const job = { id: String(id), host, port, token, paths, dir, index: 0, locals: [] };
    this.nextFile(job);
  }

  nextFile(job) {
    if (job.index >= job.paths.length) {
      this.outlet("fetched", job.id, ...job.locals);
      return;
    }
    const remote = String(job.paths[job.index]);
    const target = freeName(job.dir, path.basename(remote.replace(/\\/g, "/")));
    const part = `${target}.part`;
    const fid = `${job.id}-f${job.index}`;
    const f = { job, remote, target, part, fd: fs.openSync(part, "w"), received: 0 };
    this.fetching.set(fid, f);
    const list = ["/dawgen/fetch", fid, "path", remote, "offset", 0];
    if (job.token) list.push("token", job.token);
    const link = this.linkFor(job.host, job.port);
    f.link = link;
    link.write(encodeMessage(list[0], list.slice(1)));
  }

  // /dawgen/file req_id path offset total blob
  onFile(fid, args) {
    const f = this.fetching.get(fid);
    const offset = Number(args[2]), total = Number(args[3]), blob = Buffer.isBuffer(args[4]) ? args[4] : Buffer.alloc(0);
    fs.writeSync(f.fd, blob, 0, blob.length, offset);
    f.received = offset + blob.length;
    const job = f.job;
    this.outlet("fetchprogress", job.id, (job.index + (total > 0 ? Math.min(1, f.received / total) : 1)) / job.paths.length);
    if (f.received >= total || blob.length === 0) {
      fs.closeSync(f.fd);
      fs.renameSync(f.part, f.target);
      this.fetching.delete(fid);
      job.locals.push(f.target);
      job.index += 1;
      this.nextFile(job);
    }
  }

  failFetch(fid, text) {
    const f = this.fetching.get(fid);
    this.fetching.delete(fid);
    try {
      fs.closeSync(f.fd);
      fs.unlinkSync(f.part);
    } catch (err) {
      // already gone
    }
    this.outlet("fetchfailed", f.job.id, `${path.basename(f.target)}: ${text}`);
  }

  onMessage(link, address, args) {
    const id = args.length ? String(args[0]) : "";
    if (this.fetching.has(id)) {
      if (address === "/dawgen/file") {
        try {
          this.onFile(id, args);
        } catch (err) {
          this.failFetch(id, err.message);
        }
      } else if (address === "/dawgen/error") {
        this.failFetch(id, `${args[1]}: ${args[2]}`);
      }
      return;
    }
    link.ids.delete(id);
    // Max atoms: no blobs (none of the other replies has one), numbers and text as they are.
    this.outlet(address, ...args.map((a) => (Buffer.isBuffer(a) ? `<${a.length} bytes>` : a)));
  }

  // ---- `dawgen discover --json`: the daemons that announce themselves on the LAN ------------------
  // Where `dawgen` is: the device's setting, else PATH, else the places pip/pipx/Homebrew put it
  // (Live started from the Finder or the Start menu does not get the shell's PATH).
  findDawgen(setting) {
    const win = this.platform === "win32";
    const names = win ? ["dawgen.exe", "dawgen.cmd", "dawgen"] : ["dawgen"];
    if (setting) {
      const given = String(setting);
      if (this.isFile(given)) return given;
      for (const name of names) if (this.isFile(path.join(given, name))) return path.join(given, name); // a folder
      throw new Error(`no dawgen program at ${given} (the device's dawgen setting): give the full path of ` +
        "the dawgen executable, or empty the field to look on PATH");
    }
    const dirs = String(this.env.PATH || this.env.Path || "").split(win ? ";" : ":").filter(Boolean);
    const home = this.home;
    dirs.push(path.join(home, ".local", "bin"), "/opt/homebrew/bin", "/usr/local/bin");
    if (win && this.env.APPDATA) dirs.push(path.join(this.env.APPDATA, "Python", "Scripts"));
    for (const dir of dirs) {
      for (const name of names) if (this.isFile(path.join(dir, name))) return path.join(dir, name);
    }
    throw new Error("dawgen was not found on PATH nor in ~/.local/bin, /opt/homebrew/bin, /usr/local/bin: " +
      "put the full path of the dawgen executable in the device's dawgen field");
  }

  discover({ id, dawgen, seconds }) {
    id = String(id);
    if (this.discovering) throw new Error("already looking for daemons");
    const exe = this.findDawgen(dawgen);
    const wait = Number(seconds) > 0 ? Number(seconds) : 3;
    const run = { id, exe, out: [], err: [], over: false };
    const finish = (name, ...args) => {
      if (run.over) return;
      run.over = true;
      clearTimeout(run.timer);
      if (this.discovering === run) this.discovering = null;
      this.outlet(name, id, ...args);
    };
    let child;
    try {
      child = this.spawn(exe, ["discover", "--seconds", String(wait), "--json"]);
    } catch (err) {
      throw new Error(`could not run ${exe}: ${err.code || err.message}`);
    }
    this.discovering = run;
    run.child = child;
    run.timer = setTimeout(() => {
      try {
        child.kill();
      } catch (err) {
        // already gone
      }
      finish("discoverfailed", `${exe} discover did not finish in ${wait + 20} s`);
    }, (wait + 20) * 1000);
    if (run.timer.unref) run.timer.unref();
    child.stdout.on("data", (chunk) => run.out.push(Buffer.from(chunk)));
    child.stderr.on("data", (chunk) => run.err.push(Buffer.from(chunk)));
    child.on("error", (err) => finish("discoverfailed", `could not run ${exe}: ${err.code || err.message}`));
    child.on("close", (code) => {
      const stderr = Buffer.concat(run.err).toString("utf8").trim();
      if (code !== 0) {
        const last = stderr.split(/\r?\n/).pop() || `it exited with ${code}`;
        finish("discoverfailed", `${path.basename(exe)} discover failed: ${last}`);
        return;
      }
      let found;
      try {
        found = JSON.parse(Buffer.concat(run.out).toString("utf8"));
        if (!Array.isArray(found)) throw new Error("not a list");
      } catch (err) {
        finish("discoverfailed", `${path.basename(exe)} discover --json printed something unreadable ` +
          "(is this dawgen older than `dawgen discover`?)");
        return;
      }
      finish("discovered", encodeURIComponent(JSON.stringify(found.map(daemonRecord))));
    });
  }

  // Every connection closed (the tests; Max ends the whole process when the device goes).
  close() {
    if (this.discovering && this.discovering.child) {
      clearTimeout(this.discovering.timer);
      try {
        this.discovering.child.kill();
      } catch (err) {
        // already gone
      }
    }
    for (const link of this.links.values()) link.socket.destroy();
    this.links.clear();
  }

  onGone(key, link, why) {
    if (this.links.get(key) === link) this.links.delete(key);
    for (const id of link.ids) this.outlet("neterror", id, why);
    link.ids.clear();
    for (const [fid, f] of this.fetching) if (f.link === link) this.failFetch(fid, why);
  }
}

function defaultIsFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch (err) {
    return false;
  }
}

// One entry of `dawgen discover --json` (bridge/discovery.py found_json) as the device uses it.
function daemonRecord(f) {
  const addresses = Array.isArray(f.addresses) ? f.addresses.map(String) : [];
  return {
    name: String(f.name || "dawgen"),
    host: String(f.host || addresses[0] || String(f.server || "").replace(/\.$/, "")),
    port: Number(f.port) || 0,
    token: f.token !== false && f.token !== 0 && f.token !== "0",
    version: String(f.version || "?"),
    addresses,
  };
}

function freeName(dir, name) {
  const ext = path.extname(name), stem = name.slice(0, name.length - ext.length);
  for (let n = 1; n < 10000; n++) {
    const candidate = path.join(dir, n > 1 ? `${stem}-${n}${ext}` : name);
    if (!fs.existsSync(candidate) && !fs.existsSync(`${candidate}.part`)) return candidate;
  }
  throw new Error(`no free file name for ${name} in ${dir}`);
}

// In Max: wire the handlers to [node.script]'s inlet and outlet. Elsewhere (the tests) there is no
// max-api module, and this file is only a library.
let maxApi = null;
try {
  maxApi = require("max-api"); // eslint-disable-line global-require
} catch (err) {
  maxApi = null;
}
if (maxApi) {
  const helper = new Net((...atoms) => maxApi.outlet(...atoms));
  maxApi.addHandler("send", (arg) => helper.handle("send", arg));
  maxApi.addHandler("fetch", (arg) => helper.handle("fetch", arg));
  maxApi.addHandler("discover", (arg) => helper.handle("discover", arg));
  maxApi.outlet("netready");
}

module.exports = { Net, encodeMessage, decodePacket, slipEncode, SlipReader, freeName, daemonRecord };
