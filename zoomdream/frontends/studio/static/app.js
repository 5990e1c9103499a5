// zoomdream studio: the renders page, a render's page, the editor and the live view, in plain JS.
// Everything the page shows comes from the JSON API under /api/ (the same one curl uses).
"use strict";

const view = document.getElementById("view");
const CURVES = ["luma", "saturation", "contrast", "clip", "boil", "centroid"];
const ACTIVE = ["queued", "rendering", "stopping", "measuring"];
let cleanups = [];
let serial = 0;  // counts page changes: a page whose data comes back after the user moved on is dropped
const STALE = new Error("stale");
window.zdLatency = [];  // seconds from a frame's Frames event on the server to it being on screen
window.zdFrames = [];  // the frame numbers the live view showed, in order

// -- helpers ------------------------------------------------------------------------------
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const path = (id) => id.split("/").map(encodeURIComponent).join("/");
const later = (fn) => cleanups.push(fn);

async function fresh(promise) {
  const mine = serial, value = await promise;
  if (mine !== serial) throw STALE;
  return value;
}

async function api(method, url, body, type) {
  const options = { method, headers: {} };
  if (body !== undefined) { options.body = body; options.headers["Content-Type"] = type || "text/yaml"; }
  const response = await fetch(url, options);
  const json = (response.headers.get("content-type") || "").includes("json");
  const data = json ? await response.json() : await response.text();
  if (!response.ok) throw Object.assign(new Error((data && data.error) || response.statusText), { status: response.status, data });
  return data;
}

function duration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  seconds = Math.round(seconds);
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60), s = seconds % 60;
  if (m < 60) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

function stateText(r) {
  if (r.state === "rendering" || r.state === "stopping") return `${r.done}/${r.total} frames${r.eta != null ? ` · ETA ${duration(r.eta)}` : ""}`;
  if (r.state === "interrupted" || r.state === "unfinished") return `stopped at ${r.done} of ${r.total} frames`;
  if (r.state === "queued") return r.queue ? `waiting (${r.queue} ahead)` : "next in the queue";
  if (r.state === "failed") return r.error || "failed";
  if (r.state === "measuring") return "finished; measuring its look";
  return `${r.total} frames`;
}

function meta(r) {
  const parts = [];
  if (r.size) parts.push(`${r.size[0]}×${r.size[1]}`);
  if (r.length != null) parts.push(`${duration(r.length)} at ${r.fps} fps`);
  if (r.device) parts.push(r.device);
  if (r.seconds_per_frame) parts.push(`${r.seconds_per_frame.toFixed(2)} s/frame`);
  return parts.join(" · ");
}

function curvesFrom(points) {  // [{frame, luma, ...}] -> {luma: [[frame, value], ...]}
  const out = {};
  for (const name of CURVES) out[name] = points.filter((p) => p[name] != null).map((p) => [p.frame, p[name]]);
  return out;
}

function drawCurves(box, curves, total) {
  box.innerHTML = CURVES.filter((n) => curves[n] && curves[n].length).map((name) => {
    const pts = curves[name], ys = pts.map((p) => p[1]);
    const lo = Math.min(...ys), hi = Math.max(...ys), span = hi - lo || 1, last = pts[pts.length - 1][1];
    const xmax = Math.max(total - 1, pts[pts.length - 1][0], 1);
    const line = pts.map(([x, y]) => `${(100 * x / xmax).toFixed(2)},${(40 - 36 * (y - lo) / span - 2).toFixed(2)}`).join(" ");
    return `<div class="curve" data-curve="${name}"><div class="label"><span>${name}</span><span>${last.toFixed(3)}</span></div>
      <svg viewBox="0 0 100 40" preserveAspectRatio="none"><polyline points="${line}"/></svg></div>`;
  }).join("");
}

function verdictTable(verdicts) {
  if (!verdicts || !verdicts.length) return `<p class="muted">No look report yet.</p>`;
  return `<table class="verdicts"><tr><th>curve</th><th>verdict</th><th>what it says</th></tr>${verdicts.map((v) =>
    `<tr><td>${esc(v.curve)}</td><td class="${v.word === "ok" ? "word-ok" : "word-bad"}">${esc(v.word)}</td><td>${esc(v.note)}</td></tr>`).join("")}</table>`;
}

// -- the live view: server-sent events from /api/renders/<id>/events ------------------------
function liveView(box, id, onEnd) {
  box.innerHTML = `<div class="live" data-id="${esc(id)}">
      <img class="live-frame" alt="the newest frame" data-frame="-1">
      <div><div class="progress"><div style="width:0%"></div></div><div class="live-text">connecting…</div></div>
      <div class="curves"></div><ul class="notices"></ul></div>`;
  const img = box.querySelector(".live-frame"), bar = box.querySelector(".progress > div");
  const text = box.querySelector(".live-text"), curves = box.querySelector(".curves"), notes = box.querySelector(".notices");
  const points = [];
  let first = true;  // the first message is the state on connecting: its frame may be old
  const source = new EventSource(`/api/renders/${path(id)}/events`);
  source.onmessage = (event) => {
    const m = JSON.parse(event.data), live = !first;
    first = false;
    points.push(...(m.look || []));
    if (m.frame) {
      const t = m.t, index = m.frame_index;
      img.src = m.frame;
      img.decode().then(() => requestAnimationFrame(() => {
        img.dataset.frame = index;
        window.zdFrames.push(index);
        if (live) window.zdLatency.push(Date.now() / 1000 - t);
      })).catch(() => {});
    }
    box.querySelector(".live").dataset.state = m.state;
    bar.style.width = `${m.total ? (100 * m.done / m.total).toFixed(1) : 0}%`;
    const speed = m.fps ? ` · ${m.fps.toFixed(2)} frames/s` : "";
    text.innerHTML = `<b>${esc(m.state)}</b> · ${m.done}/${m.total} frames${speed}${m.eta != null && ACTIVE.includes(m.state) ? ` · ETA ${duration(m.eta)}` : ""}` +
      (m.error ? ` · <span class="error">${esc(m.error)}</span>` : "");
    notes.innerHTML = (m.notices || []).map((n) => `<li>${esc(n)}</li>`).join("");
    drawCurves(curves, curvesFrom(points), m.total || 1);
  };
  source.addEventListener("end", () => { source.close(); if (onEnd) onEnd(); });
  const stop = () => source.close();
  later(stop);
  return stop;
}

// -- renders page ---------------------------------------------------------------------------
async function rendersPage() {
  view.innerHTML = `<h1>Renders <span class="muted" id="where"></span></h1>
    <div class="toolbar"><a class="button" href="#/editor">New recipe</a><button id="compare" disabled>Compare selected</button></div>
    <div id="list" class="grid"></div>`;
  const picked = new Set();
  document.getElementById("compare").onclick = () => { location.hash = `#/compare?ids=${[...picked].map(encodeURIComponent).join(",")}`; };
  const draw = async () => {
    const data = await fresh(api("GET", "/api/renders"));
    document.getElementById("where").textContent = data.renders_dir;
    const list = document.getElementById("list");
    if (!data.renders.length) {
      list.innerHTML = `<div class="empty">No renders yet in ${esc(data.renders_dir)}. <a href="#/editor">Write a recipe</a> and preview it.</div>`;
      return;
    }
    list.innerHTML = data.renders.map((r) => {
      const pct = r.total ? (100 * r.done / r.total).toFixed(1) : 0;
      const bar = r.state !== "finished" ? `<div class="progress"><div style="width:${pct}%"></div></div>` : "";
      return `<a class="card ${r.state}" href="#/render/${path(r.id)}" data-id="${esc(r.id)}" data-state="${r.state}">
        <input type="checkbox" class="pick" title="compare" data-id="${esc(r.id)}" ${picked.has(r.id) ? "checked" : ""}>
        <img class="thumb" alt="" src="${r.thumb}?v=${r.done}-${r.state}">
        <div class="body"><div class="title"><span class="name">${esc(r.id)}</span><span class="badge ${r.state}">${r.state}</span></div>
        <div class="meta">${esc(meta(r))}</div><div class="meta state-text">${esc(stateText(r))}</div>${bar}</div></a>`;
    }).join("");
    list.querySelectorAll("img.thumb").forEach((img) => img.addEventListener("error", () => { img.style.visibility = "hidden"; }));
    list.querySelectorAll(".pick").forEach((box) => {
      box.onclick = (event) => {
        event.stopPropagation();
        box.checked ? picked.add(box.dataset.id) : picked.delete(box.dataset.id);
        document.getElementById("compare").disabled = picked.size < 2;
      };
    });
  };
  await draw();
  const timer = setInterval(() => draw().catch(() => {}), 1500);
  later(() => clearInterval(timer));
}

// -- a render's page ------------------------------------------------------------------------
async function renderPage(id) {
  const r = await fresh(api("GET", `/api/renders/${path(id)}`));
  const active = ACTIVE.includes(r.state);
  const can = (state) => ({
    resume: ["interrupted", "unfinished"].includes(state), stop: ["rendering", "queued", "stopping"].includes(state),
    preview: !active && !!r.recipe, again: !!r.editable, look: state === "finished",
  });
  const allowed = can(r.state);
  const lanes = r.lanes.map((lane) => `<div class="panel lane" data-lane="${esc(lane.name)}">
      ${r.lanes.length > 1 ? `<h2>${esc(lane.name)}</h2>` : ""}
      ${lane.video ? `<video controls loop muted autoplay playsinline src="${lane.video}"></video>` : `<p class="muted">No video yet.</p>`}
      <h2>Look</h2>${verdictTable(lane.verdicts)}<div class="curves lane-curves"></div>
      ${lane.sheet ? `<h2>Contact sheet</h2><img class="sheet" alt="contact sheet" src="${lane.sheet}">` : ""}</div>`).join("");
  const rec = r.record || {};
  view.innerHTML = `<h1><span>${esc(r.id)}</span><span class="badge ${r.state}" id="state">${r.state}</span></h1>
    <div class="toolbar">
      ${allowed.resume ? `<button class="primary" id="resume">Resume</button>` : ""}
      ${allowed.stop ? `<button id="stop">Stop</button>` : ""}
      ${allowed.preview ? `<button id="preview">Preview</button>` : ""}
      ${allowed.again ? `<a class="button" id="again" href="#/editor?from=${encodeURIComponent(r.id)}">Render again with changes</a>` : ""}
      ${allowed.look && !r.lanes.some((l) => l.verdicts.length) ? `<button id="look">Measure look</button>` : ""}
      ${r.preview_id ? `<a class="button" href="#/render/${path(r.preview_id)}">Its preview</a>` : ""}
      ${r.parent_id ? `<a class="button" href="#/render/${path(r.parent_id)}">The full render</a>` : ""}
      <span class="muted" id="said">${esc(r.error || "")}</span>
    </div>
    <div class="cols"><div>${active ? `<div class="panel" id="live"></div>` : ""}${lanes || (active ? "" : `<p class="muted">Nothing rendered yet.</p>`)}</div>
    <div><div class="panel"><h2>Render</h2><table>
      <tr><th>state</th><td>${esc(r.state)}${r.state === "finished" ? "" : ` · ${esc(stateText(r))}`}</td></tr><tr><th>size</th><td>${r.size ? r.size.join("×") : "–"}</td></tr>
      <tr><th>length</th><td>${r.total} frames, ${duration(r.length)} at ${r.fps} fps</td></tr>
      <tr><th>device</th><td>${esc(r.device || "–")}</td></tr><tr><th>seconds per frame</th><td>${r.seconds_per_frame ?? "–"}</td></tr>
      <tr><th>render time</th><td>${rec.seconds != null ? duration(rec.seconds) : r.seconds ? duration(r.seconds) + " so far" : "–"}</td></tr>
      ${rec.model ? `<tr><th>model</th><td>${esc(rec.model)} (${esc(rec.precision || "")})</td></tr>` : ""}</table></div>
      <div class="panel"><h2>Recipe</h2><pre class="recipe">${esc(r.recipe || r.editable || "")}</pre></div></div></div>`;
  r.lanes.forEach((lane, i) => {
    const curves = {};
    for (const [name, values] of Object.entries(lane.curves || {})) curves[name] = values.map((v, x) => [x, v]).filter((p) => p[1] != null);
    drawCurves(view.querySelectorAll(".lane-curves")[i], curves, r.total);
  });
  const act = (name, fn) => { const b = document.getElementById(name); if (b) b.onclick = fn; };
  const run = async (action, go) => {
    const said = document.getElementById("said");
    try { const out = await api("POST", `/api/renders/${path(id)}/${action}`); said.textContent = ""; route(go ? go(out) : undefined); }
    catch (e) { said.textContent = e.message; said.className = "error"; }
  };
  act("resume", () => run("resume"));
  act("stop", () => run("stop"));
  act("preview", () => run("preview", (out) => `#/render/${path(out.id)}`));
  act("look", () => run("look"));
  if (active) liveView(document.getElementById("live"), id, () => route());
}

// -- compare ----------------------------------------------------------------------------------
async function comparePage(ids) {
  const renders = await fresh(Promise.all(ids.map((id) => api("GET", `/api/renders/${path(id)}`).catch(() => null))));
  view.innerHTML = `<h1>Compare</h1><div class="compare">${renders.filter(Boolean).map((r) => `<div class="panel">
      <h2><a href="#/render/${path(r.id)}">${esc(r.id)}</a> <span class="badge ${r.state}">${r.state}</span></h2>
      ${r.lanes[0] && r.lanes[0].video ? `<video controls loop muted autoplay playsinline src="${r.lanes[0].video}"></video>` : ""}
      <p class="muted">${esc(meta(r))}</p>${verdictTable(r.lanes[0] && r.lanes[0].verdicts)}</div>`).join("")}</div>`;
}

// -- editor -----------------------------------------------------------------------------------
const STARTER = `name: my-dream
size: [320, 180]
frames: 48
fps: 12
model: {name: efficientnet_lite0}
dream: {steps: 2, octaves: 2}
motion: {zoom: 1.03, rotate: 0.2}
`;
let fields = null;

function keyAt(text, caret) {  // the dotted key at the caret: block mappings, lists (as .0.) and flow maps
  const before = text.slice(0, caret).split("\n"), all = text.split("\n"), row = before.length - 1;
  const line = all[row] || "", col = before[row].length;
  const keyRe = /^(\s*)(-\s+)?([A-Za-z_][\w-]*)\s*:/;
  const indent = (s) => s.length - s.trimStart().length;
  const own = keyRe.exec(line);
  if (!own) return "";
  const parts = [own[3]];
  const brace = line.indexOf("{");
  if (brace >= 0 && col > brace) {
    const upto = line.slice(brace + 1, col) + line.slice(col).split(/[:,}]/)[0] + ":";
    const keys = [...upto.matchAll(/([A-Za-z_][\w-]*)\s*:/g)];
    if (keys.length) parts.push(keys[keys.length - 1][1]);
  }
  let depth = indent(line), equal = false;
  if (own[2]) { parts.unshift("0"); equal = true; }
  for (let i = row - 1; i >= 0 && (depth > 0 || equal); i--) {
    const m = keyRe.exec(all[i]);
    if (!m || all[i].trim().startsWith("#")) continue;
    const ind = indent(all[i]);
    if (m[2] && ind < depth) { parts.unshift("0"); depth = ind; equal = true; }
    else if (!m[2] && (ind < depth || (equal && ind <= depth))) { parts.unshift(m[3]); depth = ind; equal = false; }
  }
  return parts.join(".");
}

async function editorPage(params) {
  const from = params.get("from");
  view.innerHTML = `<h1>Editor <span class="muted" id="source"></span></h1>
    <div class="editor-cols"><div>
      <div class="toolbar"><button id="do-preview" class="primary">Preview</button><button id="do-render">Render</button>
        <label class="check-box"><input type="checkbox" id="overwrite"> replace an earlier render of this name</label></div>
      <div class="code" id="code"><pre class="gutter" id="gutter">1</pre><div class="code-area">
        <div class="line-mark" id="mark" hidden></div><div class="key-error" id="key-error" hidden></div>
        <textarea id="recipe" spellcheck="false" autocomplete="off" autocapitalize="off" aria-label="recipe (YAML)"></textarea></div></div>
      <div class="check" id="check"></div><div class="check bad" id="started"></div>
    </div><div>
      <div class="panel" id="live-panel" hidden><h2>Live <a id="live-link" href="#/"></a></h2><div id="live"></div></div>
      <div class="panel"><h2>Field reference</h2><div class="field-help" id="help"><span class="muted">Put the caret on a key to see what it does.</span></div>
        <input type="search" id="filter" placeholder="search the fields" style="margin-top:8px"><div class="fields" id="fields"></div></div>
    </div></div>`;
  const area = document.getElementById("recipe"), gutter = document.getElementById("gutter"), mark = document.getElementById("mark");
  const bubble = document.getElementById("key-error"), status = document.getElementById("check"), code = document.getElementById("code");
  let errorLine = null, timer = null, serial = 0;
  const lh = 20, pad = 10;
  const place = () => {
    gutter.scrollTop = area.scrollTop;
    if (errorLine) {
      const top = pad + (errorLine - 1) * lh - area.scrollTop;
      mark.style.top = `${top}px`; bubble.style.top = `${top + lh + 4}px`;
    }
  };
  const numbers = () => {
    const count = area.value.split("\n").length;
    gutter.innerHTML = Array.from({ length: count }, (_, i) => (i + 1 === errorLine ? `<span class="err">${i + 1}</span>` : `${i + 1}`)).join("\n") + "\n\n";
    place();
  };
  const show = (error) => {
    errorLine = error ? error.line || 1 : null;
    mark.hidden = bubble.hidden = !error;
    code.classList.toggle("bad", !!error);
    if (error) { bubble.textContent = error.error; bubble.dataset.key = error.key || ""; bubble.dataset.line = errorLine; }
    numbers();
  };
  const check = async () => {
    const mine = ++serial;
    try {
      const out = await api("POST", "/api/check", area.value);
      if (mine !== serial) return;
      show(null); status.className = "check ok"; status.textContent = `✓ ${out.summary}`;
    } catch (e) {
      if (mine !== serial) return;
      show(e.data && e.data.error ? e.data : { error: e.message });
      status.className = "check bad"; status.textContent = e.message;
    }
  };
  const help = () => {
    const key = keyAt(area.value, area.selectionStart).replace(/\.\d+(?=\.|$)/g, ".0");
    const row = fields && (fields.find((f) => f.key === key) || fields.find((f) => f.key.endsWith("." + key.split(".").pop()) && key.includes(".")));
    document.getElementById("help").innerHTML = row ? `<code>${esc(row.key)}</code> <span class="muted">${esc(row.type)}${row.default ? ` · default ${esc(row.default)}` : ""}</span><br>${esc(row.description)}` :
      `<span class="muted">${key ? `<code>${esc(key)}</code>: not a field of the recipe` : "Put the caret on a key to see what it does."}</span>`;
  };
  area.addEventListener("input", () => { numbers(); clearTimeout(timer); timer = setTimeout(check, 250); help(); });
  area.addEventListener("scroll", place);
  ["click", "keyup"].forEach((name) => area.addEventListener(name, help));
  area.addEventListener("keydown", (e) => {
    if (e.key === "Tab") { e.preventDefault(); const s = area.selectionStart; area.setRangeText("  ", s, area.selectionEnd, "end"); area.dispatchEvent(new Event("input")); }
  });
  area.value = from ? await fresh(api("GET", `/api/renders/${path(from)}/recipe`)) : (sessionStorage.getItem("zd-recipe") || STARTER);
  document.getElementById("source").textContent = from ? `from ${from}` : "";
  area.addEventListener("input", () => sessionStorage.setItem("zd-recipe", area.value));
  numbers(); check();
  const start = async (preview) => {
    const said = document.getElementById("started");
    said.textContent = "";
    const query = `?preview=${preview}&overwrite=${document.getElementById("overwrite").checked}`;
    try {
      const out = await api("POST", `/api/renders${query}`, area.value);
      const panel = document.getElementById("live-panel"), link = document.getElementById("live-link");
      panel.hidden = false; link.textContent = out.id; link.href = `#/render/${path(out.id)}`;
      liveView(document.getElementById("live"), out.id, () => { link.textContent = `${out.id} — done, open it`; });
    } catch (e) {
      said.textContent = e.message;
      if (e.data && e.data.line) show(e.data);
    }
  };
  document.getElementById("do-preview").onclick = () => start(true);
  document.getElementById("do-render").onclick = () => start(false);
  if (!fields) fields = (await fresh(api("GET", "/api/schema"))).fields;
  const list = () => {
    const q = document.getElementById("filter").value.toLowerCase();
    document.getElementById("fields").innerHTML = fields.filter((f) => !q || f.key.includes(q) || f.description.toLowerCase().includes(q)).map((f) =>
      `<div><code>${esc(f.key)}</code> <span class="type">${esc(f.type)}</span><br>${esc(f.description)}</div>`).join("");
  };
  document.getElementById("filter").addEventListener("input", list);
  list(); help();
}

// -- the API, from the studio's own OpenAPI document ------------------------------------------
async function apiPage() {
  const spec = await fresh(api("GET", "/openapi.json"));
  const rows = Object.entries(spec.paths).flatMap(([url, ops]) => Object.entries(ops).map(([method, op]) =>
    `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${esc(url)}</code></td><td>${esc(op.summary || "")}</td></tr>`));
  view.innerHTML = `<h1>HTTP API <span class="muted">${esc(spec.info.title)} ${esc(spec.info.version)}</span></h1>
    <div class="panel"><p>JSON under <code>/api/</code>. Requests that change anything (every POST) need the
    <code>X-Zoomdream-Token</code> header that <code>zoomdream studio</code> printed, or to come from this page.
    A bad recipe is HTTP 400 with <code>{"error", "key", "line"}</code>; an unknown render 404; an action that does not fit
    the render's state 409. The full description: <a href="/openapi.json">openapi.json</a>.</p>
    <table><tr><th>method</th><th>path</th><th>what it does</th></tr>${rows.join("")}</table></div>`;
}

// -- the queue in the header, and the router -------------------------------------------------
async function queueLine() {
  try {
    const { jobs } = await api("GET", "/api/queue");
    const now = jobs.filter((j) => j.state !== "queued"), waiting = jobs.length - now.length;
    document.getElementById("queue").textContent = jobs.length ?
      `${now.map((j) => `${j.id}: ${j.state} ${j.done}/${j.total}`).join(" · ")}${waiting ? ` · ${waiting} waiting` : ""}` : "queue empty";
  } catch (e) { /* the studio restarts; try again */ }
}

async function route(hash) {
  if (hash !== undefined && hash !== location.hash) { location.hash = hash; return; }
  cleanups.forEach((fn) => fn()); cleanups = [];
  const mine = ++serial;
  const [where, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const section = where.startsWith("/editor") ? "editor" : where.startsWith("/api") ? "api" : where === "/" ? "renders" : "";
  document.querySelectorAll("nav a[data-nav]").forEach((a) => a.classList.toggle("on", a.dataset.nav === section));
  try {
    if (where.startsWith("/render/")) await renderPage(decodeURIComponent(where.slice(8)));
    else if (where.startsWith("/editor")) await editorPage(params);
    else if (where.startsWith("/api")) await apiPage();
    else if (where.startsWith("/compare")) await comparePage((params.get("ids") || "").split(",").filter(Boolean).map(decodeURIComponent));
    else await rendersPage();
  } catch (e) {
    if (e === STALE || mine !== serial) return;
    view.innerHTML = `<h1>Cannot show this</h1><p class="error">${esc(e.message)}</p><p><a href="#/">All renders</a></p>`;
  }
}

window.addEventListener("hashchange", () => route());
route();
queueLine();
setInterval(queueLine, 2000);
