// Max's [js] object runs an ES5-era engine: the device's code must parse as ECMAScript 5, and only
// the handlers the patcher sends to may be top-level functions (Max exposes every one as a message).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const acorn = require("acorn");
const build = require("../build");

const HANDLERS = ["init", "anything", "prompt", "folder", "host", "model", "mode", "bars", "seed", "count", "strength",
  "lora1", "lora2", "lora1strength", "lora2strength", "port", "replyport", "place", "restore", "refresh", "generate", "cancel", "dice", "keep", "notifydeleted",
  "dataset", "trainkind", "trainsteps", "trainbase", "addclip", "train", "token", "project", "catalogpick", "getmodel",
  "netready", "neterror", "fetchprogress", "fetched", "fetchfailed", "finddaemons", "lanpick", "dawgenpath", "discovered",
  "discoverfailed"];
const LOCAL = ["dev", "text"]; // helpers in main.js, hidden from Max with `.local = 1`

function parse5(source, file) {
  try {
    return acorn.parse(source, { ecmaVersion: 5, sourceType: "script", locations: true });
  } catch (err) {
    throw new Error(`${file} is not ES5: ${err.message}`);
  }
}

test("dawgen.js and every source file parse as ECMAScript 5", () => {
  parse5(fs.readFileSync(build.OUT_JS, "utf8"), "dawgen.js");
  for (const name of build.JS_ORDER) {
    parse5(fs.readFileSync(path.join(__dirname, "..", "src", "js", name), "utf8"), name);
  }
  assert.throws(() => parse5("var f = (x) => x;", "probe"), /not ES5/, "the check does catch ES6");
  assert.throws(() => parse5("let x = 1;", "probe"), /not ES5/);
});

test("top-level functions are exactly the message handlers (plus local helpers)", () => {
  const ast = parse5(fs.readFileSync(build.OUT_JS, "utf8"), "dawgen.js");
  const functions = ast.body.filter((n) => n.type === "FunctionDeclaration").map((n) => n.id.name);
  assert.deepEqual([...functions].sort(), [...HANDLERS, ...LOCAL].sort());
  const source = fs.readFileSync(build.OUT_JS, "utf8");
  for (const name of LOCAL) assert.match(source, new RegExp(`\\n${name}\\.local = 1;`), `${name} is hidden from Max`);
});

test("no file uses the strict mode that would break Max's globals (autowatch, inlets, outlets)", () => {
  const source = fs.readFileSync(build.OUT_JS, "utf8");
  assert.doesNotMatch(source, /["']use strict["']/);
  assert.match(source, /\nautowatch = 0;\ninlets = 1;\noutlets = 4;\n/);
});
