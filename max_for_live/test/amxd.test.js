// The built .amxd: chunk by chunk, and the patcher inside it wired the way dawgen.js expects.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const { readAmxd, writeAmxd, amxdType, AmxdError } = require("../amxd");
const build = require("../build");
const { LiveSet, loadDevice } = require("./helpers");

const committed = fs.readFileSync(build.OUT_AMXD);

test("the committed dawgen.amxd and dawgen.js are what the sources build", () => {
  assert.ok(committed.equals(build.buildAmxd()), "run `make m4l` and commit dawgen.amxd");
  assert.equal(fs.readFileSync(build.OUT_JS, "utf8"), build.buildJs(), "run `make m4l` and commit dawgen.js");
});

test("chunk by chunk: ampf (audio effect), meta, ptch with NUL-terminated patcher JSON", () => {
  let pos = 0;
  const tags = [];
  while (pos < committed.length) {
    const tag = committed.toString("ascii", pos, pos + 4);
    const size = committed.readUInt32LE(pos + 4);
    tags.push([tag, size]);
    pos += 8 + size;
  }
  assert.equal(pos, committed.length, "chunk sizes add up to the file size");
  assert.deepEqual(tags.map((t) => t[0]), ["ampf", "meta", "ptch"]);
  assert.equal(committed.toString("ascii", 8, 12), "aaaa");
  assert.deepEqual(tags.slice(0, 2).map((t) => t[1]), [4, 4]);
  assert.equal(committed[committed.length - 1], 0, "patcher JSON ends with a NUL");
  const device = readAmxd(committed);
  assert.equal(device.type, "aaaa");
  assert.equal(device.patcher.patcher.project.amxdtype, 1633771873);
  assert.equal(amxdType("mmmm"), 1835887981, "the value the field notes give for a MIDI effect");
});

test("readAmxd refuses broken files with a reason", () => {
  const good = writeAmxd({ type: "aaaa", patcherText: JSON.stringify({ patcher: { project: { amxdtype: amxdType("aaaa") } } }) });
  assert.doesNotThrow(() => readAmxd(good));
  const cases = [
    [good.subarray(0, good.length - 3), /claims \d+ bytes past the end/],
    [good.subarray(0, 24), /missing ptch/],
    [Buffer.concat([good.subarray(0, good.length - 1), Buffer.from(" ")]), /not NUL-terminated/],
    [writeAmxd({ type: "mmmm", patcherText: JSON.stringify({ patcher: { project: { amxdtype: 1 } } }) }), /does not match ampf mmmm/],
    [writeAmxd({ type: "aaaa", patcherText: "{nope" }), /does not parse/],
  ];
  for (const [bytes, message] of cases) assert.throws(() => readAmxd(bytes), (err) => err instanceof AmxdError && message.test(err.message));
});

// -- the patcher ---------------------------------------------------------------------------------
const patcher = readAmxd(committed).patcher.patcher;
const boxes = Object.fromEntries(patcher.boxes.map((b) => [b.box.id, b.box]));
const lines = patcher.lines.map((l) => l.patchline);
const byText = (text) => Object.values(boxes).filter((b) => b.text === text);
const one = (text) => {
  const found = byText(text);
  assert.equal(found.length, 1, `exactly one [${text}]`);
  return found[0];
};
const byVarname = (name) => Object.values(boxes).find((b) => b.varname === name);
const linked = (src, outlet, dst, inlet = 0) =>
  lines.some((l) => l.source[0] === src.id && l.source[1] === outlet && l.destination[0] === dst.id && l.destination[1] === inlet);

// The device as Max would run it, to compare the patch with the code.
const device = loadDevice(new LiveSet());
const DG = device.context.DG;

test("every line joins existing boxes through outlets and inlets they have", () => {
  assert.equal(new Set(patcher.boxes.map((b) => b.box.id)).size, patcher.boxes.length, "box ids are unique");
  for (const l of lines) {
    const src = boxes[l.source[0]], dst = boxes[l.destination[0]];
    assert.ok(src && dst, `line ${JSON.stringify(l)} joins existing boxes`);
    assert.ok(l.source[1] < src.numoutlets, `${src.text || src.maxclass} has outlet ${l.source[1]}`);
    assert.ok(l.destination[1] < dst.numinlets, `${dst.text || dst.maxclass} has inlet ${l.destination[1]}`);
  }
});

test("transport: live.thisdevice -> init -> js; js -> udpsend and udpreceive; udpreceive -> js", () => {
  const js = one("js dawgen.js");
  assert.equal(js.numoutlets, 4);
  assert.equal(js.saved_object_attributes.filename, "dawgen.js");
  const thisdevice = one("live.thisdevice"), init = one("init");
  const send = one("udpsend 127.0.0.1 9950"), receive = one("udpreceive 9951 @defer 1");
  assert.ok(linked(thisdevice, 0, init) && linked(init, 0, js));
  assert.ok(linked(js, 0, send), "outlet 0 -> udpsend");
  assert.ok(linked(js, 1, receive), "outlet 1 -> udpreceive");
  assert.ok(linked(receive, 0, js), "replies -> js");
  // TCP (uploads, fetches) for a daemon on another computer: the Node for Max helper beside the device.
  const net = one("node.script dawgen_net.js @autostart 1 @watch 0");
  assert.ok(linked(js, 3, net), "outlet 3 -> node.script");
  assert.ok(linked(net, 0, js), "node.script -> js");
  assert.ok(fs.existsSync(path.join(__dirname, "..", "dawgen_net.js")), "dawgen_net.js sits beside the device");
  const plugin = one("plugin~"), plugout = one("plugout~");
  assert.ok(linked(plugin, 0, plugout, 0) && linked(plugin, 1, plugout, 1), "audio passes through");
});

test("outlet 2 feeds a route whose outlets reach the controls the js names", () => {
  const js = one("js dawgen.js");
  const route = Object.values(boxes).find((b) => /^route /.test(b.text || ""));
  assert.ok(linked(js, 2, route));
  const names = route.text.split(" ").slice(1);
  // Every name the js sends to the controls is routed: collect them from a whole session.
  const d = loadDevice(new LiveSet({ tracks: [{ name: "A", kind: "audio", slots: [null] }] }));
  d.send("prompt", "x");
  d.send("init");
  d.osc("/dawgen/pong", d.lastRequest()[1], "0.1.0");
  d.osc("/dawgen/models", d.lastRequest()[1], "[]");
  d.send("dice", 1);
  d.send("restore", JSON.stringify({ prompt: "p", folder: "f", host: "h" }));
  d.send("generate", 1);
  d.osc("/dawgen/ack", d.lastRequest()[1], "j", 0);
  d.osc("/dawgen/progress", "j", 0.5, "generating", 1);
  d.osc("/dawgen/done", "j", "/o/a.wav");
  const used = new Set(d.record.ui.map((l) => l[0]));
  for (const name of used) assert.ok(names.includes(name), `route passes ${name}`);
  for (const name of DG.PARAMETER_CONTROLS) assert.ok(names.includes(name), `route reaches ${name}`);
  const expected = { status: "status", detail: "detail", progress: "progress", lastseed: "lastseed", model: "model",
    prompt: "prompt", folder: "folder", host: "host", store: "dawgen_settings", mode: "Mode", bars: "Bars", seed: "Seed",
    count: "Count", strength: "Strength", port: "Port", replyport: "Reply Port", place: "Place", lora1: "lora1", lora2: "lora2",
    lora1strength: "Adapter 1 Strength", lora2strength: "Adapter 2 Strength", dataset: "dataset", trainkind: "Train Kind",
    trainsteps: "Train Steps", trainbase: "trainbase", trainstatus: "trainstatus", token: "token", project: "project",
    catalog: "catalog", cataloginfo: "cataloginfo", pullprogress: "pullprogress", pullstatus: "pullstatus",
    lan: "lan", dawgenpath: "dawgenpath" };
  names.forEach((name, outlet) => {
    const target = byVarname(expected[name]);
    assert.ok(target, `a control named ${expected[name]}`);
    assert.ok(linked(route, outlet, target), `route outlet ${outlet} (${name}) -> ${expected[name]}`);
  });
});

test("each control reaches a handler that exists in dawgen.js, through [prepend NAME]", () => {
  const js = one("js dawgen.js");
  const controls = { prompt: "prompt", model: "model", Mode: "mode", Bars: "bars", Count: "count", Strength: "strength",
    Seed: "seed", Dice: "dice", "Keep Seed": "keep", Cancel: "cancel", host: "host", Port: "port", "Reply Port": "replyport",
    folder: "folder", Place: "place", Reconnect: "refresh", lora1: "lora1", lora2: "lora2",
    "Adapter 1 Strength": "lora1strength", "Adapter 2 Strength": "lora2strength", dataset: "dataset", "Add Clip": "addclip",
    "Train Kind": "trainkind", trainbase: "trainbase", "Train Steps": "trainsteps", Train: "train", token: "token",
    project: "project", catalog: "catalogpick", "Get Model": "getmodel", "Find Daemons": "finddaemons", lan: "lanpick",
    dawgenpath: "dawgenpath" };
  for (const [varname, handler] of Object.entries(controls)) {
    const control = byVarname(varname), prepend = one(`prepend ${handler}`);
    assert.ok(control, `control ${varname}`);
    assert.ok(linked(control, 0, prepend) && linked(prepend, 0, js), `${varname} -> prepend ${handler} -> js`);
    assert.equal(typeof device.context[handler], "function", `dawgen.js handles ${handler}`);
  }
  const pattr = byVarname("dawgen_settings"), restore = one("prepend restore");
  assert.ok(linked(pattr, 0, restore) && linked(restore, 0, js));
  assert.equal(pattr.saved_attribute_attributes.valueof.parameter_type, 3, "settings saved with the Set as a blob");
});

test("Generate: a press bangs the prompt and folder fields, then sends generate", () => {
  const js = one("js dawgen.js");
  const button = byVarname("Generate"), sel = one("sel 0"), trigger = one("t b b"), msg = one("generate");
  assert.ok(linked(button, 0, sel) && linked(sel, 1, trigger), "only non-zero values pass");
  assert.ok(linked(trigger, 1, byVarname("prompt")) && linked(trigger, 1, byVarname("folder")), "fields first (right outlet)");
  assert.ok(linked(trigger, 0, msg) && linked(msg, 0, js));
  assert.equal(button.mode, 0, "button mode");
});

test("menus and number boxes match the code's modes, places and ranges", () => {
  const valueof = (name) => byVarname(name).saved_attribute_attributes.valueof;
  assert.deepEqual(valueof("Mode").parameter_enum, JSON.parse(JSON.stringify(DG.MODES.map((m) => m.label))));
  assert.deepEqual(valueof("Place").parameter_enum, JSON.parse(JSON.stringify(DG.PLACES)));
  assert.deepEqual(valueof("Train Kind").parameter_enum, JSON.parse(JSON.stringify(DG.TRAIN_KINDS)));
  const ranges = { Bars: [1, 64], Count: [1, 64], Seed: [-1, DG.SEED_MAX], Port: [1, 65535], "Reply Port": [0, 65535], Strength: [0, 1],
    "Adapter 1 Strength": [DG.LORA_MIN, DG.LORA_MAX], "Adapter 2 Strength": [DG.LORA_MIN, DG.LORA_MAX] };
  for (const [name, [lo, hi]] of Object.entries(ranges)) {
    assert.deepEqual([valueof(name).parameter_mmin, valueof(name).parameter_mmax], [lo, hi], name);
  }
  assert.deepEqual(valueof("Port").parameter_initial, [9950]);
  const params = patcher.parameters;
  for (const name of ["Adapter 1 Strength", "Adapter 2 Strength"]) {
    assert.deepEqual(valueof(name).parameter_initial, [DG.LORA_DEFAULT], `${name} starts at 1.0`);
    assert.equal(valueof(name).parameter_type, 0, `${name} is a float parameter`);
    assert.equal(byVarname(name).maxclass, "live.dial");
  }
  for (const name of ["Mode", "Bars", "Count", "Strength", "Seed", "Generate", "Cancel", "Port", "Reply Port", "Place",
    "Adapter 1 Strength", "Adapter 2 Strength"]) {
    const box = byVarname(name);
    assert.deepEqual(params[box.id].slice(0, 1), [name], `${name} listed in the patcher's parameters`);
  }
  for (const name of ["status", "detail", "lastseed", "progress", "prompt", "model", "Generate", "Cancel", "lora1", "lora2",
    "Adapter 1 Strength", "Adapter 2 Strength", "token", "catalog", "cataloginfo", "Get Model", "pullprogress", "pullstatus",
    "project", "Find Daemons", "lan", "dawgenpath"]) {
    assert.equal(byVarname(name).presentation, 1, `${name} is on the device's face`);
  }
});

test("the device's face: every control inside the device, none on top of another", () => {
  const width = patcher.devicewidth, height = patcher.openrect[3];
  const shown = Object.values(boxes).filter((b) => b.presentation === 1);
  for (const b of shown) {
    const [x, y, w, h] = b.presentation_rect;
    assert.ok(x >= 0 && y >= 0 && x + w <= width && y + h <= height, `${b.varname || b.text} inside ${width}x${height}`);
  }
  for (let i = 0; i < shown.length; i++) {
    for (let j = i + 1; j < shown.length; j++) {
      const [ax, ay, aw, ah] = shown[i].presentation_rect, [bx, by, bw, bh] = shown[j].presentation_rect;
      const overlap = ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
      assert.ok(!overlap, `${shown[i].varname || shown[i].text} and ${shown[j].varname || shown[j].text} overlap`);
    }
  }
});
