// Loads the built dawgen.js the way Max's [js] object does, in a context holding a small fake of
// Max's globals (outlet, post, messnamed, arrayfromargs, messagename, Task, File, LiveAPI).
// Everything the device sends out is recorded per outlet; Tasks run on a fake clock.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");
const { makeLiveAPI } = require("./fake_live");

// DAWGEN_DEVICE_JS runs the tests against another build (e.g. an older one, to see a test fail there).
const DEVICE_JS = process.env.DAWGEN_DEVICE_JS || path.join(__dirname, "..", "dawgen.js");

class FakeClock {
  constructor() {
    this.now = 0;
    this.tasks = [];
  }

  add(task, ms) {
    this.tasks.push({ task, at: this.now + ms });
  }

  remove(task) {
    this.tasks = this.tasks.filter((t) => t.task !== task);
  }

  // Runs every task due within `ms`, in time order (tasks may schedule more).
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      this.tasks.sort((a, b) => a.at - b.at);
      const next = this.tasks[0];
      if (!next || next.at > end) break;
      this.tasks.shift();
      this.now = next.at;
      next.task.fire();
    }
    this.now = end;
  }
}

// Max's outlet() flattens array arguments into one list.
function flatten(args) {
  const out = [];
  for (const a of args) {
    if (Array.isArray(a)) out.push(...a);
    else out.push(a);
  }
  return out;
}

function loadDevice(set, { readFile = (p) => fs.readFileSync(p), folders = [] } = {}) {
  const clock = new FakeClock();
  const record = { udpsend: [], udpreceive: [], ui: [], net: [], posts: [], written: {} };
  // Files the device wrote (Max's File in "write" mode) are read back from here first. Writing
  // into a folder that `folders` does not list fails, as Max's File cannot make folders.
  const readAny = (p) => (p in record.written ? Buffer.from(record.written[p]) : readFile(p));
  const names = ["udpsend", "udpreceive", "ui", "net"];
  class Task {
    constructor(fn, obj) {
      this.fn = fn;
      this.obj = obj;
    }
    schedule(ms) {
      clock.remove(this);
      clock.add(this, ms || 0);
    }
    cancel() {
      clock.remove(this);
    }
    fire() {
      this.fn.call(this.obj);
    }
  }
  class File {
    constructor(filePath, access) {
      if (access === "write") {
        const folder = filePath.replace(/\/[^/]*$/, "");
        this.isopen = folders.includes(folder);
        this.path = filePath;
        if (this.isopen) record.written[filePath] = record.written[filePath] || [];
        this.position = 0;
        return;
      }
      if (access !== "read") throw new Error("fake File: access must be read or write");
      try {
        this.bytes = readAny(filePath);
        this.isopen = true;
      } catch (err) {
        this.isopen = false;
      }
      this.position = 0;
      this.eof = this.isopen ? this.bytes.length : 0;
    }
    set eof(n) {
      if (this.path) record.written[this.path].length = n;
      this._eof = n;
    }
    get eof() {
      return this.path ? record.written[this.path].length : this._eof;
    }
    writebytes(bytes) {
      record.written[this.path].push(...bytes);
    }
    writestring(text) {
      record.written[this.path].push(...Buffer.from(text, "latin1"));
    }
    readbytes(n) {
      const out = Array.from(this.bytes.subarray(this.position, this.position + n));
      this.position += out.length;
      return out;
    }
    close() {
      this.isopen = false;
    }
  }
  const context = {
    outlet(n, ...args) {
      if (!names[n]) throw new Error(`outlet ${n} does not exist`);
      record[names[n]].push(flatten(args));
    },
    post(...args) {
      record.posts.push(args.join(" "));
    },
    messnamed() {},
    arrayfromargs(args) {
      return Array.prototype.slice.call(args);
    },
    messagename: "",
    Task,
    File,
    LiveAPI: makeLiveAPI(set),
    JSON,
    Math,
  };
  vm.createContext(context);
  vm.runInContext(fs.readFileSync(DEVICE_JS, "utf8"), context, { filename: "dawgen.js" });
  return {
    context,
    record,
    clock,
    set,
    // A message from the patcher: `send("prompt", "punchy", "kick")`.
    send(name, ...args) {
      if (typeof context[name] !== "function") throw new Error(`dawgen.js has no handler ${name}`);
      context.messagename = name;
      return context[name](...args);
    },
    // A reply as [udpreceive] outputs it: the OSC address as message name.
    osc(address, ...args) {
      context.messagename = address;
      return context.anything(...args);
    },
    // OSC requests sent so far (lists whose first atom is an address).
    requests() {
      return record.udpsend.filter((l) => String(l[0]).startsWith("/"));
    },
    lastRequest() {
      const r = this.requests();
      return r[r.length - 1];
    },
    // The text last sent to a display ("status", "detail", "lastseed").
    shown(name) {
      const lines = record.ui.filter((l) => l[0] === name && l[1] === "set");
      return lines.length ? lines[lines.length - 1].slice(2).join(" ") : undefined;
    },
    ui(name) {
      return record.ui.filter((l) => l[0] === name).map((l) => l.slice(1));
    },
  };
}

module.exports = { loadDevice, FakeClock, DEVICE_JS };
