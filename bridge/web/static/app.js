// dawgen studio: one page over the JSON API (docs/HTTP.md). No build step, no libraries.
"use strict";

const state = { jobs: new Map(), models: [], verbs: {}, page: 1, pages: 1, runs: new Map(), runByJob: new Map(), dataset: null };
const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
};

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  const res = await fetch(path, init);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.message || res.statusText), { code: data.code || res.status });
  return data;
}

function say(text, isError = false) {
  const node = $("#message");
  node.textContent = text;
  node.className = isError ? "error" : "";
}
const fail = (err) => say(`${err.code || "error"}: ${err.message}`, true);

// -- views ---------------------------------------------------------------------------------------
function show() {
  const view = (location.hash || "#queue").slice(1);
  document.querySelectorAll(".view").forEach((v) => v.classList.toggle("active", v.id === `view-${view}`));
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  if (view === "library") loadLibrary();
  if (view === "models") loadModels();
  if (view === "training") loadRuns().catch(fail);
}

// -- queue ---------------------------------------------------------------------------------------
function describe(job) {
  const p = job.params || {};
  return `${job.verb} ${job.model}${p.prompt ? ` “${p.prompt}”` : ""}`;
}

function queueRow(job) {
  // rows are kept and updated in place: a cancel button never moves under the pointer mid-click
  return el("tr", { "data-job": job.job_id },
    el("td", {}, job.job_id), el("td", { class: "what" }), el("td", { class: "state" }),
    el("td", {}, el("progress", { max: "1", value: "0" })), el("td", { class: "eta" }),
    el("td", {}, el("input", { type: "number", class: "priority", min: "-100", max: "100", step: "1", value: job.priority ?? 0,
      onchange: (e) => reprioritise(job.job_id, Number(e.target.value)) })),
    el("td", {}, el("button", { type: "button", class: "cancel", onclick: () => cancel(job.job_id) }, "cancel")));
}

function renderQueue() {
  const body = $("#queue tbody");
  const live = [...state.jobs.values()].filter((j) => j.state === "queued" || j.state === "running");
  live.sort((a, b) => (a.state === "running" ? 0 : 1) - (b.state === "running" ? 0 : 1));
  const rows = new Map([...body.children].map((row) => [row.dataset.job, row]));
  for (const job of live) {
    const row = rows.get(job.job_id) || queueRow(job);
    rows.delete(job.job_id);
    row.dataset.state = job.state;
    row.querySelector(".what").textContent = describe(job);
    row.querySelector(".state").textContent = job.stage || job.state;
    row.querySelector("progress").value = job.fraction || 0;
    row.querySelector(".eta").textContent = job.eta_seconds >= 0 ? `~${job.eta_seconds.toFixed(1)} s` : "";
    const priority = row.querySelector("input.priority");
    priority.disabled = job.state !== "queued";
    if (document.activeElement !== priority && job.priority !== undefined) priority.value = job.priority;
    body.append(row);  // moves a kept row into run order
  }
  rows.forEach((row) => row.remove());
  $("#queue-empty").hidden = live.length > 0;
}

async function loadQueue() {
  const data = await api("GET", "/api/queue");
  state.jobs.clear();
  for (const job of data.jobs) state.jobs.set(job.job_id, job);
  renderQueue();
}

async function cancel(id) {
  try { const r = await api("DELETE", `/api/jobs/${id}`); say(`job ${id}: ${r.state}`); } catch (err) { fail(err); }
}

async function reprioritise(id, priority) {
  try {
    const job = await api("PATCH", `/api/jobs/${id}`, { priority });
    say(`job ${id}: priority ${job.priority}, position ${job.queue_position}`);
    await loadQueue();
  } catch (err) { fail(err); }
}

function connect() {
  const events = new EventSource("/api/events");
  events.onopen = () => { $("#connection").textContent = "live"; };
  events.onerror = () => { $("#connection").textContent = "reconnecting…"; };
  const update = (e) => {
    const ev = JSON.parse(e.data);
    const known = state.jobs.get(ev.job_id) || {};
    state.jobs.set(ev.job_id, { ...known, ...ev, params: known.params || {} });
    renderQueue();
    return ev;
  };
  events.addEventListener("accepted", (e) => { update(e); loadQueue().catch(fail); });
  events.addEventListener("progress", update);
  events.addEventListener("done", (e) => {
    const ev = update(e);
    say(`job ${ev.job_id} done: ${ev.paths.length} file(s)`);
    state.jobs.delete(ev.job_id);
    renderQueue();
    loadLatest();
    if ($("#view-library").classList.contains("active")) loadLibrary();
    trainingEvent("done", ev);
  });
  events.addEventListener("error", (e) => {
    if (!e.data) return;  // the connection's own error event
    const ev = update(e);
    if (ev.error) say(`job ${ev.job_id}: ${ev.error.code}: ${ev.error.message}`, ev.error.code !== "cancelled");
    state.jobs.delete(ev.job_id);
    renderQueue();
    trainingEvent("error", ev);
  });
  for (const kind of ["training", "checkpoint", "dataset"]) {
    events.addEventListener(kind, (e) => trainingEvent(kind, JSON.parse(e.data)));
  }
}

// -- results (latest + library) ------------------------------------------------------------------
function card(r) {
  const link = el("a", { class: "name", href: r.url, draggable: "true", download: r.name }, r.name);
  link.addEventListener("dragstart", (e) => {
    // Chromium: dropping onto the desktop or a DAW saves the file (DownloadURL); others get the URL
    const mime = r.format === "mid" ? "audio/midi" : r.format === "flac" ? "audio/flac" : "audio/wav";
    e.dataTransfer.setData("DownloadURL", `${mime}:${r.name}:${location.origin}${r.url}`);
    e.dataTransfer.setData("text/uri-list", location.origin + r.url);
  });
  const info = [r.verb, r.model, r.seed !== null && r.seed !== undefined ? `seed ${r.seed}` : "",
    r.seconds ? `${r.seconds} s` : "", new Date(r.written_at * 1000).toLocaleString()].filter(Boolean).join(" · ");
  return el("div", { class: "card", "data-name": r.name },
    r.image_url ? el("img", { class: "waveform", src: r.image_url, alt: `waveform of ${r.name}`, loading: "lazy" }) : "",
    link, el("div", { class: "muted" }, r.prompt ? `“${r.prompt}”` : ""), el("div", { class: "muted" }, info),
    r.audio_url ? el("audio", { controls: true, preload: "metadata", src: r.audio_url }) : "",
    el("div", { class: "actions" },
      el("button", { type: "button", class: "again", onclick: () => again(r) }, "again"),
      verbButton("vary", r, { input: r.path, prompt: r.prompt || undefined }),
      verbButton("separate", r, { input: r.path }, "stems")),
    el("details", {}, el("summary", {}, "provenance"), el("pre", {}, JSON.stringify({ request: r.request, params: r.params }, null, 2))));
}

function verbButton(verb, r, params, label = verb) {
  const can = verb in state.verbs && r.format !== "mid";
  return el("button", { type: "button", class: verb, disabled: !can, title: can ? "" : `no model does ${verb}`,
    onclick: () => submit(verb, clean(params)) }, label);
}

const clean = (params) => Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined && v !== ""));

function again(r) {
  const params = { ...(r.request.params || r.params) };
  delete params.seed;  // same settings, a new seed
  submit(r.request.verb || r.verb, params);
}

async function submit(verb, params) {
  try {
    const r = await api("POST", "/api/jobs", { verb, params });
    say(`queued job ${r.job_id} (${verb}, position ${r.queue_position})`);
    return r;
  } catch (err) { fail(err); return null; }
}

async function loadLatest() {
  const data = await api("GET", "/api/library?per_page=6");
  $("#latest").replaceChildren(...data.results.map(card));
}

async function loadLibrary() {
  const data = await api("GET", `/api/library?page=${state.page}&per_page=24`);
  state.pages = data.pages;
  $("#library").replaceChildren(...data.results.map(card));
  $("#lib-page").textContent = `page ${data.page} of ${data.pages} · ${data.total} results`;
  $("#lib-prev").disabled = state.page <= 1;
  $("#lib-next").disabled = state.page >= state.pages;
}

// -- forms from parameter specs ------------------------------------------------------------------
const SKIP = new Set(["model"]);

function field(spec) {
  const id = `f-${spec.name}-${Math.random().toString(36).slice(2, 7)}`;
  let input;
  if (spec.choices) {
    input = el("select", { id, name: spec.name }, spec.default === null ? el("option", { value: "" }, "") : "",
      ...spec.choices.map((c) => el("option", { value: String(c), selected: c === spec.default }, String(c))));
  } else if (spec.type === "bool") {
    input = el("input", { id, name: spec.name, type: "checkbox", checked: spec.default === true, "data-type": "bool" });
  } else if (spec.type === "int" || spec.type === "float") {
    input = el("input", { id, name: spec.name, type: "number", min: spec.min, max: spec.max,
      step: spec.type === "int" ? "1" : "any", value: spec.default ?? "", placeholder: spec.default === null ? "(default)" : "" });
  } else {
    input = el("input", { id, name: spec.name, type: "text", value: spec.default ?? "",
      list: spec.name === "prompt" ? "prompt-history" : undefined });
  }
  input.dataset.type = spec.type;
  input.dataset.default = JSON.stringify(spec.default);
  return [el("label", { for: id }, spec.name), input, spec.doc ? el("div", { class: "doc" }, spec.doc) : ""];
}

function buildFields(form, specs) {
  form.querySelector(".fields").replaceChildren(...specs.filter((s) => !SKIP.has(s.name)).flatMap(field));
}

function readFields(form) {
  const params = {};
  for (const input of form.querySelectorAll(".fields [name]")) {
    const type = input.dataset.type;
    const byDefault = JSON.parse(input.dataset.default);
    let value = type === "bool" ? input.checked : input.value;
    if (type !== "bool" && value === "") continue;
    if ((type === "int" || type === "float") && value !== "") value = Number(value);
    if (value === byDefault) continue;  // the daemon fills in defaults (and a random seed)
    params[input.name] = value;
  }
  return params;
}

function modelsDoing(verb) {
  return state.models.filter((m) => m.verbs && verb in m.verbs && !m.unavailable);
}

function fillGenerate() {
  const form = $("#generate-form");
  const verbs = Object.keys(state.verbs).filter((v) => v !== "train").sort();
  const verbSelect = $("#generate-verb");
  const current = verbSelect.value || (verbs.includes("generate") ? "generate" : verbs[0]);
  verbSelect.replaceChildren(...verbs.map((v) => el("option", { value: v, selected: v === current }, v)));
  const models = modelsDoing(current);
  const modelSelect = $("#generate-model");
  const chosen = models.some((m) => m.name === modelSelect.value) ? modelSelect.value
    : (models.find((m) => m.default) || models[0] || {}).name;
  modelSelect.replaceChildren(...models.map((m) => el("option", { value: m.name, selected: m.name === chosen }, m.name)));
  const model = models.find((m) => m.name === chosen);
  buildFields(form, model ? model.verbs[current] : []);
  renderHistory();
}

function rememberPrompt(prompt) {
  if (!prompt) return;
  const history = JSON.parse(localStorage.getItem("dawgen.prompts") || "[]").filter((p) => p !== prompt);
  history.unshift(prompt);
  localStorage.setItem("dawgen.prompts", JSON.stringify(history.slice(0, 50)));
  renderHistory();
}

function renderHistory() {
  const history = JSON.parse(localStorage.getItem("dawgen.prompts") || "[]");
  $("#prompt-history").replaceChildren(...history.map((p) => el("option", { value: p })));
}

async function onGenerate(e) {
  e.preventDefault();
  const form = e.target;
  const params = { model: $("#generate-model").value, ...readFields(form) };
  rememberPrompt(params.prompt);
  const r = await submit($("#generate-verb").value, params);
  if (r) state.jobs.set(r.job_id, { job_id: r.job_id, state: "queued", verb: $("#generate-verb").value, model: params.model,
    params, fraction: 0, eta_seconds: -1 });
  renderQueue();
}

// -- models --------------------------------------------------------------------------------------
const size = (b) => (b ? `${(b / 2 ** 30).toFixed(2)} GB` : "");

async function loadModels() {
  const [data, studio] = await Promise.all([api("GET", "/api/models"), api("GET", "/api/studio")]);
  state.models = data.models;
  state.verbs = data.verbs;
  $("#models tbody").replaceChildren(...data.models.map((m) => el("tr", { "data-model": m.name },
    el("td", {}, m.name + (m.default ? " (default)" : "")), el("td", {}, m.backend),
    el("td", {}, Object.keys(m.verbs || {}).join(", ")),
    el("td", {}, m.unavailable ? "unavailable" : m.loaded ? "warm" : "cold"), el("td", {}, m.device || ""),
    el("td", {}, size(m.memory_bytes)), el("td", { class: "missing" }, m.unavailable || ""),
    el("td", {}, el("button", { type: "button", class: "load", disabled: !!m.unavailable || m.loaded,
      onclick: () => modelAction(m.name, "load") }, "load"),
    el("button", { type: "button", class: "unload", disabled: !m.loaded, onclick: () => modelAction(m.name, "unload") }, "unload")))));
  $("#devices tbody").replaceChildren(...studio.devices.map((d) => el("tr", {},
    el("td", {}, d.device), el("td", {}, d.budget || "set by the model process"), el("td", {}, d.source))));
  $("#studio").textContent = `dawgen ${studio.version} · output root ${studio.output_root} · isolation ${studio.isolation}`;
  return data;
}

async function modelAction(name, action) {
  try {
    const r = await api("POST", `/api/models/${encodeURIComponent(name)}/${action}`);
    say(`${action} ${name}: asked of ${r.lanes.join(", ")}`);
    for (const wait of [300, 1000, 3000, 10000]) {  // it happens between jobs: look again a few times
      await new Promise((ok) => setTimeout(ok, wait));
      const m = (await loadModels()).models.find((x) => x.name === name);
      if (m && !!m.loaded === (action === "load")) break;
    }
  } catch (err) { fail(err); }
}

// -- start ---------------------------------------------------------------------------------------
async function start() {
  window.addEventListener("hashchange", show);
  $("#generate-form").addEventListener("submit", onGenerate);
  $("#generate-verb").addEventListener("change", () => { $("#generate-model").value = ""; fillGenerate(); });
  $("#generate-model").addEventListener("change", fillGenerate);
  $("#train-form").addEventListener("submit", onTrain);
  $("#train-check").addEventListener("click", () => checkDataset().catch(fail));
  $("#lib-prev").addEventListener("click", () => { state.page -= 1; loadLibrary().catch(fail); });
  $("#lib-next").addEventListener("click", () => { state.page += 1; loadLibrary().catch(fail); });
  connect();
  try {
    await loadModels();
    fillGenerate();
    fillTraining();
    await Promise.all([loadQueue(), loadLatest()]);
  } catch (err) { fail(err); }
  show();
  document.body.dataset.ready = "1";
}

start();
