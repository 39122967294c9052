// dawgen studio, the Training view (loaded before app.js, whose helpers it uses when called).
"use strict";

// -- training ------------------------------------------------------------------------------------
function fillTraining() {
  const models = modelsDoing("train");
  $("#train-model").replaceChildren(...models.map((m) => el("option", { value: m.name }, m.name)));
  buildFields($("#train-form"), models.length ? models[0].verbs.train : []);
}

function trainParams() {
  return { model: $("#train-model").value, ...readFields($("#train-form")) };
}

async function checkDataset() {
  // the dry run: the report the run would start from, each clip's prompt editable (prompted kinds)
  const params = trainParams();
  const kind = $("#train-form [name=kind]");
  if (kind) params.kind = kind.value;  // readFields leaves out the default; the dry run needs it
  if (!params.data) throw Object.assign(new Error("name the data folder (an absolute path) first"), { code: "bad_request" });
  say("reading the data folder…");
  const r = await api("POST", "/api/training/check", { data: params.data, params });
  state.dataset = { data: params.data };
  $("#dataset").hidden = false;
  $("#dataset-summary").textContent = r.summary + (r.trigger ? ` · “${r.trigger}” goes in front of every prompt` : "");
  $("#dataset-files tbody").replaceChildren(...r.report.used.map((u) => el("tr", { "data-file": u.file },
    el("td", {}, u.file), el("td", {}, u.clips),
    el("td", {}, r.prompts_editable
      ? el("input", { type: "text", class: "prompt", value: u.prompt || "", "data-original": u.prompt || "" })
      : u.detail || ""),
    el("td", {}, u.prompt_from || ""))));
  $("#dataset-rejected").replaceChildren(...r.report.rejected.map((x) => el("li", {}, `rejected ${x.file}: ${x.reason} (${x.detail})`)));
  $("#dataset-notes").replaceChildren(...(r.report.notes || []).map((n) => el("li", {}, n)));
  say(`dataset: ${r.summary}`);
  return r;
}

function editedPrompts(data) {
  const edits = {};
  if (!state.dataset || state.dataset.data !== data) return edits;
  for (const input of document.querySelectorAll("#dataset-files input.prompt")) {
    if (input.value !== input.dataset.original) edits[input.closest("tr").dataset.file] = input.value;
  }
  return edits;
}

async function onTrain(e) {
  e.preventDefault();
  const params = trainParams();
  const edits = editedPrompts(params.data);
  if (Object.keys(edits).length) {  // saved as the folder's sidecars before the run reads it
    try {
      const w = await api("PUT", "/api/training/prompts", { data: params.data, prompts: edits });
      document.querySelectorAll("#dataset-files input.prompt").forEach((i) => { i.dataset.original = i.value; });
      say(`saved ${w.written.length} prompt(s)`);
    } catch (err) { fail(err); return; }
  }
  const r = await submit("train", params);
  if (r) Object.assign(runCard({ name: params.name, job_id: r.job_id, kind: params.kind }), { live: true });
}

function runCard(run) {
  const key = run.name || run.job_id;
  let r = state.runs.get(key) || state.runByJob.get(run.job_id);
  if (!r) {
    const canvas = el("canvas", { class: "loss", width: "640", height: "192" });
    const node = el("div", { class: "card run" },
      el("div", {}, el("strong", { class: "run-name" }), " ", el("span", { class: "kind muted" }), " ",
        el("button", { type: "button", class: "cancel", onclick: () => r.job && cancel(r.job) }, "cancel"),
        el("button", { type: "button", class: "resume", onclick: () => resume(r.key) }, "resume")),
      el("div", { class: "status muted" }), canvas, el("ul", { class: "checkpoints" }), el("div", { class: "demos" }));
    $("#runs").prepend(node);
    r = { node, canvas, losses: [], job: "", live: false };
  }
  r.key = key;
  r.node.dataset.run = key;
  r.node.querySelector(".run-name").textContent = key;
  state.runs.set(key, r);
  if (run.job_id) { r.job = run.job_id; r.node.dataset.job = run.job_id; state.runByJob.set(run.job_id, r); }
  if (run.kind) r.node.querySelector(".kind").textContent = run.kind;
  return r;
}

async function loadRuns() {
  const data = await api("GET", "/api/training/runs");
  for (const run of data.runs.slice().reverse()) {  // each new card goes on top: the newest ends first
    const r = runCard(run);
    r.node.querySelector(".resume").disabled = !run.resumable;
    if (!r.live) await loadRun(run.name);
  }
}

function demoColumn(demo) {
  // one column per checkpoint, side by side: the same demo seeds at each step, for A/B listening
  return el("div", { class: "demo-step", "data-step": demo.step }, el("div", {}, `step ${demo.step}`),
    ...demo.files.map((f) => el("div", { class: "demo" },
      el("a", { href: f.url, download: f.name, draggable: "true" }, f.name),
      f.audio_url ? el("audio", { controls: true, preload: "metadata", src: f.audio_url })
        : el("div", { class: "muted" }, "MIDI: drag it into the DAW"))));
}

async function loadRun(name) {
  const d = await api("GET", `/api/training/runs/${encodeURIComponent(name)}`);
  const r = runCard(d);
  r.losses = d.losses;
  plot(r.canvas, r.losses);
  r.node.dataset.points = String(r.losses.length);
  r.node.querySelector(".resume").disabled = !d.resumable;
  r.node.querySelector(".status").textContent =
    `${d.steps_done} of ${d.params.steps ?? "?"} steps · ${d.report.summary || ""}`;
  r.node.querySelector(".checkpoints").replaceChildren(...d.checkpoints.map((s) => el("li", {}, `checkpoint step ${s}`)));
  r.node.querySelector(".demos").replaceChildren(...d.demos.map(demoColumn));
  return d;
}

async function resume(name) {
  try {
    const r = await api("POST", `/api/training/runs/${encodeURIComponent(name)}/resume`, {});
    say(`queued job ${r.job_id} (resume ${name}, position ${r.queue_position})`);
    Object.assign(runCard({ name, job_id: r.job_id }), { live: true });
  } catch (err) { fail(err); }
}

function trainingEvent(kind, ev) {
  let r = state.runByJob.get(ev.job_id);
  if (!r) {
    if (ev.verb !== "train") return;
    r = runCard({ name: ((state.jobs.get(ev.job_id) || {}).params || {}).name, job_id: ev.job_id });
  }
  const status = r.node.querySelector(".status");
  r.live = kind !== "done" && kind !== "error";
  if (kind === "training") {
    r.losses.push([ev.data.step, ev.data.loss]);
    r.node.dataset.points = String(r.losses.length);
    status.textContent = `step ${ev.data.step} of ${ev.data.steps} · loss ${Number(ev.data.loss).toFixed(4)}`;
    plot(r.canvas, r.losses);
  } else if (kind === "checkpoint") {
    r.node.querySelector(".checkpoints").append(el("li", {}, `checkpoint step ${ev.data.step}`));
  } else if (kind === "dataset") {
    status.textContent = `${ev.data.clips} clips, ${ev.data.rejected} rejected: ${ev.data.summary}`;
  } else {
    status.textContent = ev.error ? `${ev.error.code}: ${ev.error.message}` : "done";
    if (r.key !== ev.job_id) loadRun(r.key).catch(() => {});  // the run folder: full curve and the demos
  }
}

function plot(canvas, points) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (points.length < 2) return;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  ctx.strokeStyle = "#6ec8ff";
  ctx.beginPath();
  points.forEach(([x, y], i) => {
    const px = ((x - x0) / (x1 - x0 || 1)) * (canvas.width - 10) + 5;
    const py = canvas.height - 5 - ((y - y0) / (y1 - y0 || 1)) * (canvas.height - 10);
    if (i) ctx.lineTo(px, py); else ctx.moveTo(px, py);
  });
  ctx.stroke();
}
