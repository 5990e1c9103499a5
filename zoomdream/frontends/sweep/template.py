"""The sweep page: plain HTML, CSS and JavaScript in one string, filled with the sweep's data.

A Python string rather than a package data file, so every install (wheel, editable, a Ray
worker's) has it. The script draws a sortable table and a grid of cards from the embedded data;
clicking a column sorts both (the order is kept in the URL's #fragment across refreshes), and
while the sweep runs the page reloads itself every few seconds.
"""

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · zoomdream sweep</title>
<style>
  :root { --bg: #15171a; --panel: #1f2226; --line: #33373d; --text: #e6e6e6; --dim: #9aa0a6;
          --ok: #5cc16b; --bad: #ff7a59; --run: #e0b84a; --link: #8ab4f8; }
  * { box-sizing: border-box; }
  body { margin: 0; padding: 20px 24px 40px; background: var(--bg); color: var(--text);
         font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  h1 { font-size: 20px; margin: 0 0 4px; font-weight: 600; }
  #summary { color: var(--dim); margin: 0 0 16px; }
  #summary b { color: var(--text); font-weight: 600; }
  .table { overflow-x: auto; margin-bottom: 24px; }
  table { border-collapse: collapse; width: 100%; background: var(--panel); }
  th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
  th { cursor: pointer; user-select: none; color: var(--dim); font-weight: 600; position: sticky; top: 0;
       background: var(--panel); }
  th:hover { color: var(--text); }
  th.sorted { color: var(--text); }
  th.sorted::after { content: " \25B2"; font-size: 10px; }
  th.sorted.desc::after { content: " \25BC"; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.name { white-space: normal; min-width: 14em; max-width: 24em; }
  tr:hover td { background: #262a2f; }
  .ok { color: var(--ok); } .bad { color: var(--bad); } .run { color: var(--run); } .dim { color: var(--dim); }
  a { color: var(--link); text-decoration: none; } a:hover { text-decoration: underline; }
  #grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 16px; }
  .card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
  .card h2 { font-size: 14px; margin: 0; padding: 10px 12px 6px; overflow-wrap: anywhere; }
  .chips { padding: 0 12px 8px; display: flex; flex-wrap: wrap; gap: 6px; }
  .chip { background: #2b3036; border-radius: 4px; padding: 1px 6px; font-size: 12px; }
  .chip i { color: var(--dim); font-style: normal; }
  .media video, .media img { display: block; width: 100%; background: #000; image-rendering: auto; }
  .media .none { padding: 40px 12px; text-align: center; color: var(--dim); background: #111; }
  .lane { border-top: 1px solid var(--line); }
  .lane .stem { padding: 6px 12px 0; color: var(--dim); font-size: 12px; }
  .verdicts { padding: 8px 12px; display: grid; grid-template-columns: auto auto 1fr; gap: 2px 10px; font-size: 12px; }
  .meta { padding: 6px 12px 10px; color: var(--dim); font-size: 12px; border-top: 1px solid var(--line); }
  .meta code { display: block; margin-top: 6px; white-space: pre-wrap; overflow-wrap: anywhere; color: var(--text);
               background: #111; padding: 6px; border-radius: 4px; font-size: 11px; }
  .error { color: var(--bad); padding: 8px 12px; font-size: 12px; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>{{title}}</h1>
<p id="summary"></p>
<div class="table"><table id="cells"><thead></thead><tbody></tbody></table></div>
<div id="grid"></div>
<script type="application/json" id="data">{{data}}</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const el = (tag, props = {}, ...kids) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
};
const show = v => v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
const fig = v => v === null || v === undefined ? "" : Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
// what each curve's figure is: the number look's verdict judged (see `zoomdream look`)
const meaning = {luma: "mean luma at the end (0.5 is mid grey)", saturation: "late / early saturation (1: held)",
  contrast: "late / early contrast (1: held)", clip: "share of values clipped at the end",
  boil: "median change per frame against the camera-carried frame: lower is steadier",
  centroid: "late / early fine detail (below 1: detail washing out)"};
const stateClass = s => s === "finished" ? "ok" : s === "failed" ? "bad" : s === "rendering" ? "run" : "dim";

// one row per lane of each cell (a recipe with variants has several)
const rows = [];
for (const cell of data.cells) {
  const lanes = cell.lanes.length ? cell.lanes : [null];
  // label: the name with places to wrap between its values
  for (const lane of lanes) rows.push({cell, lane, label: lane && cell.lanes.length > 1 ? `${cell.label} / ${lane.stem}` : cell.label});
}
const columns = [
  {id: "cell", label: "cell", get: r => r.label, cls: "name"},
  ...data.keys.map(k => ({id: "key:" + k, label: k, get: r => r.cell.values[k], cls: "", text: v => show(v)})),
  {id: "state", label: "state", get: r => r.cell.state, cls: "", klass: r => stateClass(r.cell.state)},
  {id: "frames", label: "frames", get: r => r.cell.done, cls: "num", text: (v, r) => `${v}/${r.cell.total}`},
  {id: "seconds", label: "time s", get: r => r.cell.seconds, cls: "num", text: v => v === null || v === undefined ? "" : v.toFixed(1)},
  {id: "spf", label: "s/frame", get: r => r.cell.seconds_per_frame, cls: "num", text: v => fig(v)},
  ...data.curves.map(c => ({id: "curve:" + c, label: c, cls: "num", get: r => r.lane ? r.lane.figures[c] : null,
    text: v => fig(v), help: meaning[c], klass: r => r.lane && r.lane.words[c] ? (r.lane.words[c] === "ok" ? "ok" : "bad") : "",
    title: r => { const v = r.lane && r.lane.verdicts.find(x => x.curve === c); return v ? `${v.word}: ${v.note}` : ""; }})),
];

const params = new URLSearchParams(location.hash.slice(1));
let sortBy = params.get("sort") || "cell", desc = params.get("dir") === "desc";

function compare(a, b) {
  const empty = v => v === null || v === undefined || v === "";
  if (empty(a) || empty(b)) return empty(a) - empty(b);
  if (typeof a === "number" && typeof b === "number") return a - b;
  return show(a).localeCompare(show(b), undefined, {numeric: true});
}

function sorted() {
  const column = columns.find(c => c.id === sortBy) || columns[0];
  const out = rows.slice().sort((x, y) => {
    const a = column.get(x), b = column.get(y), empty = v => v === null || v === undefined || v === "";
    if (empty(a) || empty(b)) return empty(a) - empty(b);  // blanks last either way
    return desc ? compare(b, a) : compare(a, b);
  });
  return out;
}

function drawTable(order) {
  const head = document.querySelector("#cells thead"), body = document.querySelector("#cells tbody");
  head.replaceChildren(el("tr", {}, ...columns.map(c => {
    const th = el("th", {textContent: c.label, title: (c.help ? c.help + "; " : "") + "click to sort"});
    if (c.id === sortBy) th.className = desc ? "sorted desc" : "sorted";
    th.onclick = () => { desc = c.id === sortBy ? !desc : false; sortBy = c.id;
      location.hash = `sort=${encodeURIComponent(sortBy)}&dir=${desc ? "desc" : "asc"}`; draw(); };
    return th;
  })));
  body.replaceChildren(...order.map(r => el("tr", {}, ...columns.map(c => {
    const v = c.get(r), td = el("td", {className: [c.cls, c.klass ? c.klass(r) : ""].join(" ").trim()});
    if (c.id === "cell") td.append(el("a", {href: "#", textContent: r.label, title: "show its card",  // the #fragment keeps the sort
      onclick: e => { e.preventDefault(); document.getElementById("card-" + data.cells.indexOf(r.cell)).scrollIntoView(); }}));
    else td.textContent = c.text ? c.text(v, r) : show(v);
    if (c.title) td.title = c.title(r);
    return td;
  }))));
}

function lanePart(cell, lane) {
  const media = el("div", {className: "media"});
  if (lane && lane.video) {
    // the still is a late frame (the first is where every cell starts); hovering plays it
    const video = el("video", {src: lane.video, controls: true, muted: true, loop: true, playsInline: true, preload: "auto"});
    video.addEventListener("loadedmetadata", () => { if (video.paused && isFinite(video.duration)) video.currentTime = video.duration * 0.9; }, {once: true});
    video.addEventListener("mouseenter", () => video.play().catch(() => {}));
    video.addEventListener("mouseleave", () => video.pause());
    media.append(video);
  }
  if (lane && lane.sheet) media.append(el("a", {href: lane.plot || lane.sheet, title: "look.png: the curves"}, el("img", {src: lane.sheet, alt: "contact sheet", loading: "lazy"})));
  if (!media.childElementCount) media.append(el("div", {className: "none", textContent: cell.state === "rendering" ? "rendering…" : cell.state}));
  const part = el("div", {className: "lane"});
  if (lane && cell.lanes.length > 1) part.append(el("div", {className: "stem", textContent: lane.stem}));
  part.append(media);
  if (lane && lane.verdicts.length) part.append(el("div", {className: "verdicts"}, ...lane.verdicts.flatMap(v => [
    el("span", {textContent: v.curve}), el("span", {className: v.word === "ok" ? "ok" : "bad", textContent: v.word}),
    el("span", {className: "dim", textContent: `${fig(v.figure)} · ${v.note}`})])));
  return part;
}

function drawGrid(order) {
  const seen = new Set(), cards = [];
  for (const r of order) {
    if (seen.has(r.cell.name)) continue;
    seen.add(r.cell.name);
    const cell = r.cell;
    const chips = el("div", {className: "chips"}, ...data.keys.map(k => el("span", {className: "chip"}, el("i", {textContent: k + " "}), show(cell.values[k]))));
    const time = cell.seconds === null || cell.seconds === undefined ? "" : ` · ${cell.seconds.toFixed(1)} s`;
    const meta = el("div", {className: "meta"}, el("span", {className: stateClass(cell.state), textContent: cell.state}),
      `${time} · ${cell.done}/${cell.total} frames${cell.device ? " · " + cell.device : ""} · `,
      el("a", {href: cell.folder + "/", textContent: "folder"}), el("code", {textContent: cell.command}));
    const card = el("div", {className: "card", id: "card-" + data.cells.indexOf(cell)}, el("h2", {textContent: cell.label}), chips,
      ...(cell.lanes.length ? cell.lanes : [null]).map(lane => lanePart(cell, lane)),
      cell.error ? el("div", {className: "error", textContent: cell.error}) : null, meta);
    cards.push(card);
  }
  document.getElementById("grid").replaceChildren(...cards);
}

function draw() {
  const order = sorted();
  drawTable(order);
  drawGrid(order);
  const counts = Object.entries(data.counts).map(([s, n]) => `<b>${n}</b> ${s}`).join(", ");
  document.getElementById("summary").innerHTML =
    `${data.cells.length} cells${data.preview ? " (preview)" : ""}: ${counts} · engine ${data.engine} · updated ${data.updated}` +
    (data.running ? " · <span class=run>running: this page reloads itself</span>" : "") +
    " · <a href='" + (data.preview ? "preview.json" : "sweep.json") + "'>json</a>";
}

draw();
if (data.running) setTimeout(() => location.reload(), 5000);
</script>
</body>
</html>
"""
