#!/usr/bin/env node
// Runs the built dawgen.js in the fake Max of fake_max.js and lets another process drive it over
// stdin/stdout, one JSON object per line. tests/max_for_live/test_conformance.py uses it to put the
// device's own requests on the wire to a real daemon and to hand the daemon's replies back to it.
//
//   node test/harness.js '{"tempo": 93, "tracks": [...]}'      (LiveSet options, see fake_live.js)
//   with "net": true the device's [node.script] is dawgen_net.js itself, talking TCP to the daemon
//   at the host and port the device is set to (uploads: the harmony modes' clips), and said ready.
// Commands in:  {"msg": ["prompt", "punchy kick"]}   a message from the patcher to [js]
//               {"osc": ["/dawgen/ack", "r1", "j", 0]} a reply as [udpreceive] outputs it
//               {"advance": 1000}                    run Max Tasks due in that many ms
//               {"wait": 200}                        let the TCP helper work that many ms (with "net")
//               {"live": {"tempo": 93.5}}            change the Live Set (tempo, sigNum/sigDen, detail,
//                                                    highlighted, focused, songTime, put: {track, slot, clip})
// Out, per command: every new outlet message, LiveAPI call and console line, then {"done": true}:
//               {"out": "udpsend"|"udpreceive"|"ui", "list": [...]}, {"out": "live", "path", "fn", "args"},
//               {"out": "post", "text"}, or {"error": message}.
"use strict";

const readline = require("readline");
const { loadDevice } = require("./fake_max");
const { LiveSet } = require("./fake_live");

const options = JSON.parse(process.argv[2] || "{}");
options.checkFiles = options.checkFiles !== false; // Live refuses paths that are not files
const set = new LiveSet(options);
const device = loadDevice(set);
const seen = { udpsend: 0, udpreceive: 0, ui: 0, net: 0, posts: 0, live: 0 };

// [js] outlet 3 -> [node.script dawgen_net.js] -> [js], as the patcher wires them.
let pumpNet = () => {};
if (options.net) {
  const { Net } = require("../dawgen_net");
  const helper = new Net((name, ...args) => {
    if (String(name).startsWith("/")) device.osc(name, ...args);
    else device.send(name, ...args);
    pumpNet();
  });
  let handed = 0;
  pumpNet = () => {
    while (handed < device.record.net.length) {
      const [op, arg] = device.record.net[handed++];
      helper.handle(op, arg);
    }
  };
  device.send("netready");
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function flush() {
  for (const name of ["udpsend", "udpreceive", "ui", "net"]) {
    for (const list of device.record[name].slice(seen[name])) emit({ out: name, list });
    seen[name] = device.record[name].length;
  }
  for (const text of device.record.posts.slice(seen.posts)) emit({ out: "post", text });
  seen.posts = device.record.posts.length;
  for (const call of set.log.slice(seen.live)) emit({ out: "live", ...call });
  seen.live = set.log.length;
}

function changeLive(change) {
  if (change.tempo !== undefined) set.setTempo(change.tempo);
  if (change.sigNum !== undefined) set.setSignature(change.sigNum, change.sigDen);
  for (const key of ["detail", "highlighted", "focused", "songTime", "selectedTrack"]) {
    if (change[key] !== undefined) set[key] = change[key];
  }
  if (change.put) set.tracks[change.put.track].slots[change.put.slot] = { notes: [], ...change.put.clip };
}

function run(command) {
  if (command.msg) device.send(...command.msg);
  else if (command.osc) device.osc(...command.osc);
  else if (command.advance) device.clock.advance(command.advance);
  else if (command.live) changeLive(command.live);
  else throw new Error(`unknown command ${JSON.stringify(command)}`);
  pumpNet();
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  const command = JSON.parse(line);
  if (command.wait) {
    setTimeout(() => {
      pumpNet();
      flush();
      emit({ done: true });
    }, command.wait);
    return;
  }
  try {
    run(command);
  } catch (err) {
    emit({ error: String(err && err.stack ? err.stack : err) });
  }
  flush();
  emit({ done: true });
});
// stdin closed: the test is over (the TCP helper's connection would keep node running).
lines.on("close", () => process.exit(0));
