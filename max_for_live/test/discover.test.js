// The daemons on the LAN (issue #23): "find" has the Node helper run `dawgen discover --json`, the
// menu lists what it printed, and a pick sets Host and Port (and says when a token is needed). The
// helper's spawn handling runs against a fake child process; nothing is sent on any network.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("path");
const { EventEmitter } = require("events");
const { Net, daemonRecord } = require("../dawgen_net");
const { connected } = require("./helpers");

// What `dawgen discover --json` prints (bridge/discovery.py found_json), recorded with two daemons.
const RECORDED = JSON.stringify([
  { name: "dawgen on studio-pc", addresses: ["192.168.1.20"], port: 9950, token: true, version: "0.9.0", tcp: true,
    web_port: 9957, server: "studio-pc.local.", host: "192.168.1.20" },
  { name: "dawgen on gpu-box", addresses: ["192.168.1.31", "fe80::1"], port: 9960, token: false, version: "0.9.1", tcp: true,
    web_port: 0, server: "gpu-box.local.", host: "192.168.1.31" },
], null, 2);

// A child process as child_process.spawn returns it: stdout/stderr streams, error/close events.
function fakeChild() {
  const child = new EventEmitter();
  child.stdout = new EventEmitter();
  child.stderr = new EventEmitter();
  child.killed = false;
  child.kill = () => { child.killed = true; };
  return child;
}

function helperWith({ files = [], env = { PATH: "/usr/bin:/opt/tools" }, platform = "linux", spawnThrows } = {}) {
  const out = [], spawned = [];
  const helper = new Net((...atoms) => out.push(atoms), {
    connect: () => { throw new Error("no sockets in these tests"); },
    home: "/home/me", env, platform, isFile: (p) => files.includes(p),
    spawn: (file, args) => {
      if (spawnThrows) throw spawnThrows;
      const child = fakeChild();
      spawned.push({ file, args, child });
      return child;
    },
  });
  const ask = (payload) => helper.handle("discover", encodeURIComponent(JSON.stringify(payload)));
  return { helper, out, spawned, ask };
}

const decoded = (atom) => JSON.parse(decodeURIComponent(atom));

test("the helper runs `dawgen discover --json` found on PATH and hands the daemons back", () => {
  const { out, spawned, ask } = helperWith({ files: ["/opt/tools/dawgen"] });
  ask({ id: "d1", dawgen: "", seconds: 3 });
  assert.equal(spawned.length, 1);
  assert.equal(spawned[0].file, "/opt/tools/dawgen");
  assert.deepEqual(spawned[0].args, ["discover", "--seconds", "3", "--json"]);
  const child = spawned[0].child;
  child.stdout.emit("data", Buffer.from(RECORDED.slice(0, 40)));
  child.stdout.emit("data", Buffer.from(RECORDED.slice(40))); // output in pieces
  child.emit("exit", 0);
  child.emit("close", 0);
  assert.equal(out.length, 1);
  assert.equal(out[0][0], "discovered");
  assert.equal(out[0][1], "d1");
  assert.deepEqual(decoded(out[0][2]), [
    { name: "dawgen on studio-pc", host: "192.168.1.20", port: 9950, token: true, version: "0.9.0", addresses: ["192.168.1.20"] },
    { name: "dawgen on gpu-box", host: "192.168.1.31", port: 9960, token: false, version: "0.9.1", addresses: ["192.168.1.31", "fe80::1"] },
  ]);
  assert.doesNotMatch(out[0][2], /[ ,;]/, "one Max atom: no space, comma or semicolon");
});

test("the helper: the device's dawgen setting first, then PATH, then ~/.local/bin; Windows names", () => {
  let h = helperWith({ files: ["/opt/tools/dawgen", "/srv/venv/bin/dawgen"] });
  h.ask({ id: "a", dawgen: "/srv/venv/bin/dawgen", seconds: 3 });
  assert.equal(h.spawned[0].file, "/srv/venv/bin/dawgen");
  h = helperWith({ files: ["/srv/venv/bin/dawgen"] });
  h.ask({ id: "b", dawgen: "/srv/venv/bin", seconds: 3 }); // a folder holding it
  assert.equal(h.spawned[0].file, "/srv/venv/bin/dawgen");
  h = helperWith({ files: [path.join("/home/me", ".local", "bin", "dawgen")], env: { PATH: "/usr/bin" } });
  h.ask({ id: "c", seconds: 3 });
  assert.equal(h.spawned[0].file, path.join("/home/me", ".local", "bin", "dawgen"), "Live's PATH lacks pip's folder");
  h = helperWith({ files: [path.join("C:\\py\\Scripts", "dawgen.exe")], env: { Path: "C:\\Windows;C:\\py\\Scripts" }, platform: "win32" });
  h.ask({ id: "w", seconds: 3 });
  assert.equal(h.spawned[0].file, path.join("C:\\py\\Scripts", "dawgen.exe"));
});

test("the helper says why in words: dawgen missing, a wrong setting, spawn failing, a failing or old dawgen", () => {
  let h = helperWith({ files: [] });
  h.ask({ id: "m", seconds: 3 });
  assert.equal(h.spawned.length, 0);
  assert.equal(h.out[0][0], "discoverfailed");
  assert.equal(h.out[0][1], "m");
  assert.match(h.out[0][2], /dawgen was not found on PATH.*dawgen field/);

  h = helperWith({ files: [] });
  h.ask({ id: "s", dawgen: "/nowhere/dawgen", seconds: 3 });
  assert.deepEqual(h.out[0].slice(0, 2), ["discoverfailed", "s"]);
  assert.match(h.out[0][2], /no dawgen program at \/nowhere\/dawgen/);

  h = helperWith({ files: ["/usr/bin/dawgen"] });
  h.ask({ id: "e", seconds: 3 });
  const err = Object.assign(new Error("spawn EACCES"), { code: "EACCES" });
  h.spawned[0].child.emit("error", err);
  h.spawned[0].child.emit("close", -2); // Node may close after the error: said once
  assert.deepEqual(h.out, [["discoverfailed", "e", "could not run /usr/bin/dawgen: EACCES"]]);

  h = helperWith({ files: ["/usr/bin/dawgen"], spawnThrows: Object.assign(new Error("bad"), { code: "ENOENT" }) });
  h.ask({ id: "t", seconds: 3 });
  assert.deepEqual(h.out, [["discoverfailed", "t", "could not run /usr/bin/dawgen: ENOENT"]]);

  h = helperWith({ files: ["/usr/bin/dawgen"] });
  h.ask({ id: "z", seconds: 3 });
  h.spawned[0].child.stderr.emit("data", Buffer.from("dawgen discover: python-zeroconf is not installed (pip install zeroconf)\n"));
  h.spawned[0].child.emit("close", 2);
  assert.deepEqual(h.out, [["discoverfailed", "z",
    "dawgen discover failed: dawgen discover: python-zeroconf is not installed (pip install zeroconf)"]]);

  h = helperWith({ files: ["/usr/bin/dawgen"] });
  h.ask({ id: "o", seconds: 3 });
  h.spawned[0].child.stdout.emit("data", Buffer.from("NAME  ADDRESS\n"));
  h.spawned[0].child.emit("close", 0);
  assert.equal(h.out[0][0], "discoverfailed");
  assert.match(h.out[0][2], /unreadable.*older than `dawgen discover`/);
  // The look is over: another may start.
  h.ask({ id: "o2", seconds: 3 });
  assert.equal(h.spawned.length, 2);
  h.helper.close();
  assert.ok(h.spawned[1].child.killed, "closing the helper ends a running discover");
});

test("daemonRecord reads found_json's fields; a missing host falls back to the addresses, then the server name", () => {
  assert.equal(daemonRecord({ name: "x", addresses: ["10.0.0.5"], port: 9950, token: false }).host, "10.0.0.5");
  assert.equal(daemonRecord({ name: "x", addresses: [], server: "box.local.", port: 9950 }).host, "box.local");
  assert.equal(daemonRecord({ name: "x", host: "h", port: "9950" }).token, true, "unknown token: assume one is needed");
});

// ---- the device ----------------------------------------------------------------------------------
function discovered(list) {
  return encodeURIComponent(JSON.stringify(JSON.parse(RECORDED).map(daemonRecord).slice(0, list)));
}

test("find -> the helper is asked; the menu fills from the recorded list; a pick sets host and port", () => {
  const d = connected();
  d.send("netready");
  d.send("dawgenpath", "/srv/venv/bin/dawgen");
  d.send("finddaemons", 1);
  const [op, arg] = d.record.net[d.record.net.length - 1];
  assert.equal(op, "discover");
  const ask = decoded(arg);
  assert.deepEqual([ask.dawgen, ask.seconds], ["/srv/venv/bin/dawgen", 3]);
  assert.match(d.shown("status"), /Looking for dawgen daemons on the LAN/);
  const net = d.record.net.length;
  d.send("finddaemons", 1);
  assert.equal(d.record.net.length, net, "one look at a time");

  d.record.ui.length = 0;
  d.send("discovered", ask.id, discovered(2));
  assert.deepEqual(d.ui("lan"), [["clear"], ["append", "2 daemons found: pick one"],
    ["append", "dawgen on studio-pc · 192.168.1.20:9950 · token"], ["append", "dawgen on gpu-box · 192.168.1.31:9960"], ["set", 0]]);
  assert.match(d.shown("status"), /^Found 2 dawgen daemons on the LAN: pick one/);

  d.send("lanpick", 0); // the title line: nothing changes
  assert.equal(d.ui("host").length, 0);

  const before = d.requests().length;
  d.send("lanpick", 1);
  assert.deepEqual(d.ui("host").pop(), ["set", "192.168.1.20"]);
  assert.deepEqual(d.ui("port").pop(), ["set", 9950]);
  assert.match(d.shown("status"), /^Using dawgen on studio-pc at 192\.168\.1\.20:9950 \(dawgen 0\.9\.0\)\. It needs a client token: ask its owner.*token field/);
  const stored = JSON.parse(decodeURIComponent(d.ui("store").pop()[0]));
  assert.equal(stored.host, "192.168.1.20", "saved with the Set");
  assert.equal(stored.dawgenPath, "/srv/venv/bin/dawgen");
  assert.deepEqual(d.record.udpsend.filter((l) => l[0] === "host").pop(), ["host", "192.168.1.20"]);
  assert.deepEqual(d.record.udpsend.filter((l) => l[0] === "port").pop(), ["port", 9950]);
  const pings = d.requests().slice(before).filter((r) => r[0] === "/dawgen/ping");
  assert.equal(pings.length, 1, "asked the picked daemon once, not once for host and again for port");

  d.send("token", "t0k");
  d.send("lanpick", 2);
  assert.deepEqual(d.ui("port").pop(), ["set", 9960]);
  assert.match(d.shown("status"), /^Using dawgen on gpu-box at 192\.168\.1\.31:9960 \(dawgen 0\.9\.1\); it needs no token\./);
  d.send("lanpick", 1);
  assert.match(d.shown("status"), /It needs a client token: yours is sent with every request\./);
  assert.ok(!d.record.posts.some((p) => p.includes("t0k")), "the token is not in the Max console");
});

test("nothing found, dawgen or the helper missing: the status line says so and the menu is reset", () => {
  const d = connected();
  d.send("netready");
  d.send("finddaemons", 1);
  let id = decoded(d.record.net.pop()[1]).id;
  d.send("discovered", id, encodeURIComponent("[]"));
  assert.deepEqual(d.ui("lan").slice(-2), [["append", "none found"], ["set", 0]]);
  assert.match(d.shown("status"), /^No dawgen daemon answered on the LAN in 3 s\. A daemon announces itself.*announce = true/);

  d.send("finddaemons", 1);
  id = decoded(d.record.net.pop()[1]).id;
  d.send("discoverfailed", id, "dawgen", "was", "not", "found", "on", "PATH");
  assert.equal(d.shown("status"), "Could not look for daemons on the LAN: dawgen was not found on PATH");
  assert.deepEqual(d.ui("lan").slice(-2), [["append", "daemons on the LAN…"], ["set", 0]]);
  d.send("discovered", id, discovered(2)); // late or stray: ignored
  assert.ok(!d.ui("lan").some((l) => /studio-pc/.test(l.join(" "))));

  const e = connected(); // the helper never says it runs
  e.send("finddaemons", 1);
  assert.equal(e.record.net.length, 0);
  e.clock.advance(10001);
  assert.match(e.shown("status"), /^The TCP helper did not start.*nor daemons found on the LAN.*dawgen_net\.js/);
  assert.deepEqual(e.ui("lan").slice(-2), [["append", "daemons on the LAN…"], ["set", 0]]);
});

test("device and helper together: find, the fake dawgen answers, pick", () => {
  const d = connected();
  const { helper, spawned } = helperWith({ files: ["/usr/bin/dawgen"] });
  helper.outlet = (name, ...args) => d.send(name, ...args);
  d.send("netready");
  d.send("finddaemons", 1);
  const [op, arg] = d.record.net.pop();
  helper.handle(op, arg);
  spawned[0].child.stdout.emit("data", Buffer.from(RECORDED));
  spawned[0].child.emit("close", 0);
  const menu = d.ui("lan");
  assert.deepEqual(menu.slice(menu.map((l) => l[0]).lastIndexOf("clear")).filter((l) => l[0] === "append").map((l) => l[1]),
    ["2 daemons found: pick one", "dawgen on studio-pc · 192.168.1.20:9950 · token", "dawgen on gpu-box · 192.168.1.31:9960"]);
  d.send("lanpick", 2);
  assert.deepEqual(d.ui("host").pop(), ["set", "192.168.1.31"]);
  assert.deepEqual(d.ui("port").pop(), ["set", 9960]);
});
