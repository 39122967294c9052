// A daemon on another computer (issue #23): the token on every request, the clip uploaded as
// input_blob + input_name over TCP, results fetched with /dawgen/fetch into the project folder and
// then placed. The device runs in the fake Max; dawgen_net.js (the [node.script] helper) runs for
// real, talking TCP (SLIP-framed OSC) to a scripted daemon on 127.0.0.1.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");
const net = require("net");
const { Net, encodeMessage, decodePacket, slipEncode, SlipReader } = require("../dawgen_net");
const { connected } = require("./helpers");

test("OSC and SLIP as the daemon reads them: ints, floats, strings, blobs, escaped END/ESC bytes", () => {
  const blob = Buffer.from([0xc0, 0xdb, 1, 2, 3]);
  const packet = encodeMessage("/dawgen/vary", ["r1", "input_blob", blob, "strength", 0.5, "count", 2]);
  assert.equal(packet.length % 4, 0);
  const [m] = decodePacket(packet);
  assert.deepEqual(m.address, "/dawgen/vary");
  assert.deepEqual(m.args, ["r1", "input_blob", blob, "strength", 0.5, "count", 2]);
  const framed = slipEncode(packet);
  assert.equal(framed[0], 0xc0, "starts with END: the daemon then reads SLIP");
  const reader = new SlipReader();
  const out = [...reader.push(framed.subarray(0, 7)), ...reader.push(framed.subarray(7))];
  assert.deepEqual(out, [packet]);
});

// A scripted daemon: `on(message, reply)` answers each request; reply(address, ...args) writes back.
function fakeDaemon(on) {
  const seen = [];
  const server = net.createServer((sock) => {
    const reader = new SlipReader();
    sock.on("data", (chunk) => {
      for (const packet of reader.push(chunk)) {
        for (const m of decodePacket(packet)) {
          seen.push(m);
          on(m, (address, ...args) => sock.write(slipEncode(encodeMessage(address, args))), sock);
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, seen, port: server.address().port })));
}

// The device and the helper wired as in the patcher: [js] outlet 3 -> [node.script]; its outlet -> [js].
const helpers = [];
test.after(() => helpers.forEach((h) => h.close()));

function wire(d, port) {
  const helper = new Net((name, ...args) => {
    if (String(name).startsWith("/")) d.osc(name, ...args);
    else d.send(name, ...args);
    pump();
  }, { connect: () => net.createConnection({ host: "127.0.0.1", port }), home: path.join(os.tmpdir(), "nohome") });
  helpers.push(helper);
  let done = 0;
  function pump() {
    while (done < d.record.net.length) {
      const [op, arg] = d.record.net[done++];
      helper.handle(op, arg);
    }
  }
  return pump;
}

function until(check, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() - started > 3000) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

function remoteDevice(tmp, clipPath) {
  return connected({
    tracks: [{ name: "Vox", kind: "audio", slots: [{ audio: true, file_path: clipPath, name: "take 3" }, null, null] }],
    detail: { track: 0, slot: 0 }, highlighted: { track: 0, slot: 0 }, checkFiles: true,
  }, { before: (d) => {
    d.send("host", "studio.local");
    d.send("token", "s3cret-token");
    d.send("project", path.join(tmp, "My Song Project"));
  } });
}

test("vary on a remote daemon: the clip is uploaded with the token, the result fetched into the project and placed", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dawgen-remote-"));
  const clipPath = path.join(tmp, "take 3.wav");
  const clipBytes = Buffer.from("RIFF....WAVEfmt fake clip bytes \xc0\xdb");
  fs.writeFileSync(clipPath, clipBytes);
  const result = Buffer.alloc(2500000, 7); // three 1 MiB chunks
  const daemon = await fakeDaemon((m, reply) => {
    if (m.address === "/dawgen/vary") {
      reply("/dawgen/ack", m.args[0], "job77", 0);
      reply("/dawgen/progress", "job77", 0.5, "generating", 2);
      reply("/dawgen/done", "job77", "/srv/dawgen/out/take 3_vary.wav");
    } else if (m.address === "/dawgen/fetch") {
      for (let offset = 0; offset < result.length; offset += 1 << 20) {
        reply("/dawgen/file", m.args[0], m.args[2], offset, result.length, result.subarray(offset, offset + (1 << 20)));
      }
    }
  });
  try {
    const d = remoteDevice(tmp, clipPath);
    assert.equal(d.shown("token"), "••••••••", "the token field shows a mask");
    const pump = wire(d, daemon.port);
    d.send("netready");
    d.send("mode", 3); // vary clip
    const udpBefore = d.requests().length;
    d.send("generate", 1);
    pump();
    assert.equal(d.requests().length, udpBefore, "an upload does not go through udpsend");
    await until(() => d.record.ui.some((l) => l[0] === "status" && /^Done: 1 clip/.test(l.slice(2).join(" "))), "the clip placed");
    const vary = daemon.seen.find((m) => m.address === "/dawgen/vary");
    const args = vary.args;
    const value = (name) => args[args.indexOf(name) + 1];
    assert.deepEqual(value("input_blob"), clipBytes, "the clip's bytes travel as input_blob");
    assert.equal(value("input_name"), "take 3.wav");
    assert.ok(!args.includes("input"), "no path on this computer is named to the daemon");
    assert.equal(value("token"), "s3cret-token");
    const fetch = daemon.seen.find((m) => m.address === "/dawgen/fetch");
    assert.deepEqual(fetch.args.slice(1), ["path", "/srv/dawgen/out/take 3_vary.wav", "offset", 0, "token", "s3cret-token"]);
    const local = path.join(tmp, "My Song Project", "Samples", "dawgen", "take 3_vary.wav");
    assert.deepEqual(fs.readFileSync(local), result, "the whole file, chunk by chunk");
    const made = d.set.log.filter((l) => l.fn === "create_audio_clip");
    assert.deepEqual(made.map((l) => l.args[0]), [local], "Live loads the downloaded copy");
    assert.ok(!d.record.posts.some((p) => p.includes("s3cret")), "the token is never in the Max console");
    assert.ok(!d.record.ui.filter((l) => l[0] !== "store").some((l) => l.join(" ").includes("s3cret")),
      "nor on the device's face (only in the stored settings)");
    // A second result of the same name does not overwrite the first.
    d.send("generate", 1);
    pump();
    await until(() => fs.existsSync(path.join(tmp, "My Song Project", "Samples", "dawgen", "take 3_vary-2.wav")), "a second file");
  } finally {
    helpers.forEach((h) => h.close());
    daemon.server.close();
  }
});

test("a UDP job on a remote daemon: fetched after done; a refused fetch and an unreachable daemon are said in words", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dawgen-remote-"));
  const daemon = await fakeDaemon((m, reply) => {
    if (m.address === "/dawgen/fetch") reply("/dawgen/error", m.args[0], "forbidden", "that file is a result of another client's job");
  });
  try {
    const d = remoteDevice(tmp, path.join(tmp, "none.wav"));
    const pump = wire(d, daemon.port);
    d.send("generate", 1); // one-shot over UDP (no input to upload)
    const req = d.lastRequest();
    assert.equal(req[req.indexOf("token") + 1], "s3cret-token");
    d.osc("/dawgen/ack", req[1], "j1", 0);
    d.osc("/dawgen/done", "j1", "/srv/out/kick.wav");
    pump();
    assert.equal(d.record.net.length, 0, "held until the helper says it runs");
    d.send("netready");
    pump();
    await until(() => /could not be downloaded/.test(d.shown("status") || ""), "the refusal");
    assert.match(d.shown("status"), /forbidden: that file is a result of another client's job/);
    assert.match(d.shown("status"), /\/srv\/out\/kick\.wav/);
    assert.deepEqual(fs.readdirSync(path.join(tmp, "My Song Project", "Samples", "dawgen")), [], "no .part left behind");
  } finally {
    helpers.forEach((h) => h.close());
    daemon.server.close();
  }
  // Nothing listens any more: the upload is reported, not resent.
  const d = remoteDevice(tmp, path.join(tmp, "take.wav"));
  fs.writeFileSync(path.join(tmp, "take.wav"), "x");
  const pump = wire(d, daemon.port);
  d.send("netready");
  d.send("mode", 4); // stems of clip
  d.send("generate", 1);
  pump();
  await until(() => /over TCP/.test(d.shown("status") || ""), "the connection error");
  assert.match(d.shown("status"), /^Could not send to dawgen at studio\.local:9950 over TCP: nothing listens/);
  assert.equal(d.record.net.filter((l) => l[0] === "send").length, 1, "sent once");
});

test("the token: masked in its field, saved with the Set, sent with every request, cleared when emptied", () => {
  const d = connected({}, { before: (dev) => dev.send("token", "abc123") });
  const stored = JSON.parse(decodeURIComponent(d.ui("store").pop()[0]));
  assert.equal(stored.token, "abc123");
  assert.ok(d.requests().every((r) => r[r.indexOf("token") + 1] === "abc123"), "ping, catalog, models carry it");
  d.send("token", "••••••••"); // Return on the mask: nothing changes
  assert.equal(JSON.parse(decodeURIComponent(d.ui("store").pop()[0])).token, "abc123");
  const e = connected();
  e.send("restore", encodeURIComponent(JSON.stringify(stored)));
  assert.deepEqual(e.ui("token").pop(), ["set", "••••••••"]);
  const ping = e.lastRequest();
  assert.equal(ping[0], "/dawgen/ping", "a restored token asks the daemon again, with it");
  assert.deepEqual(ping.slice(2, 4), ["token", "abc123"]);
  e.send("token");
  e.send("generate", 1);
  assert.ok(!e.lastRequest().includes("token"), "an emptied field clears it");
  assert.ok(![...d.record.posts, ...e.record.posts].some((p) => p.includes("abc123")), "never in the Max console");
});

test("loopback hosts are local; a remote daemon does not train from a folder on this computer", () => {
  const d = connected({}, { before: (dev) => dev.send("host", "10.0.0.7") });
  const DG = d.context.DG;
  for (const h of ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.1.1"]) assert.ok(DG.isLocalHost(h), h);
  for (const h of ["10.0.0.7", "studio.local", "192.168.1.20"]) assert.ok(!DG.isLocalHost(h), h);
  d.send("dataset", "/Users/me/My Kicks");
  d.send("train", 1);
  assert.match(d.shown("trainstatus"), /daemon's disk/);
  assert.ok(!d.requests().some((r) => r[0] === "/dawgen/train"));
});

test("no TCP helper (dawgen_net.js missing): the device says so instead of waiting forever", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dawgen-remote-"));
  fs.writeFileSync(path.join(tmp, "take.wav"), "x");
  const d = remoteDevice(tmp, path.join(tmp, "take.wav"));
  d.send("mode", 3);
  d.send("generate", 1);
  assert.equal(d.record.net.length, 0);
  d.clock.advance(10001);
  assert.match(d.shown("status"), /^The TCP helper did not start.*dawgen_net\.js/);
});
