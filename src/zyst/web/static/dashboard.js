// Zyst's dashboard: polls the JSON routes of zyst/web/dashboard.py and draws them.
// Plain DOM and canvas, no libraries; every server-provided text goes in through textContent.
"use strict";

const HISTORY = 120; // points each chart keeps (one a second)
const charts = {
  ops: { values: [], format: (v) => v.toFixed(0) },
  memory: { values: [], format: bytes },
  clients: { values: [], format: (v) => v.toFixed(0) },
  hits: { values: [], format: (v) => (v * 100).toFixed(1) + "%", max: 1 },
};
let lastHits = null;
let scanCursor = "0";

function $(id) { return document.getElementById(id); }

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + units[i];
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function row(cells) {
  const tr = el("tr");
  for (const cell of cells) {
    if (cell instanceof Node) { const td = el("td"); td.appendChild(cell); tr.appendChild(td); }
    else tr.appendChild(el("td", cell));
  }
  return tr;
}

function fill(tableId, rows) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren(...rows);
}

async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// -- charts ------------------------------------------------------------------------------------
function push(name, value) {
  const chart = charts[name];
  chart.values.push(value);
  if (chart.values.length > HISTORY) chart.values.shift();
  draw(name);
}

function draw(name) {
  const chart = charts[name];
  const canvas = $("chart-" + name);
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 4;
  const values = chart.values;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#e3e6ee";
  g.beginPath();
  for (let y = pad; y < h; y += (h - 2 * pad) / 4) { g.moveTo(0, y); g.lineTo(w, y); }
  g.stroke();
  const top = chart.max || Math.max(1, ...values) * 1.1;
  g.strokeStyle = "#3060d0";
  g.lineWidth = 1.5;
  g.beginPath();
  values.forEach((v, i) => {
    // A young chart spreads its first points over at least a quarter of the history.
    const span = Math.max(values.length, HISTORY / 4) - 1;
    const x = w - (values.length - 1 - i) * (w / span);
    const y = h - pad - (v / top) * (h - 2 * pad);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#556";
  g.font = "10px sans-serif";
  g.fillText(chart.format(top), 2, 10);
  canvas.dataset.points = String(values.length);
  const last = values[values.length - 1];
  canvas.dataset.last = String(last);
  $("now-" + name).textContent = chart.format(last);
}

// -- stats: charts, header, keyspace ------------------------------------------------------------
async function pollStats() {
  try {
    const stats = await getJSON("/api/stats");
    const info = stats.info;
    const s = info.stats, server = info.server;
    $("server-line").textContent =
      `${server.redis_version} · port ${server.tcp_port} · up ${server.uptime_in_seconds}s`;
    $("status").textContent = "";
    push("ops", Number(s.instantaneous_ops_per_sec));
    push("memory", Number(info.memory.used_memory));
    push("clients", Number(info.clients.connected_clients));
    const hits = Number(s.keyspace_hits), misses = Number(s.keyspace_misses);
    let ratio = hits + misses ? hits / (hits + misses) : 0;
    if (lastHits) {
      // The ratio over the last interval; the previous one while nothing was looked up.
      const dh = hits - lastHits[0], dm = misses - lastHits[1];
      const prev = charts.hits.values[charts.hits.values.length - 1];
      ratio = dh + dm > 0 ? dh / (dh + dm) : prev;
    }
    lastHits = [hits, misses];
    push("hits", ratio);
    showKeyspace(stats);
  } catch (err) {
    $("status").textContent = "disconnected: " + err.message;
  }
}

function showKeyspace(stats) {
  const rows = [];
  for (const [name, db] of Object.entries(stats.dbs)) {
    rows.push(row([name, db.keys, db.expires, db.avg_ttl]));
  }
  fill("keyspace", rows);
  const select = $("db");
  if (select.options.length !== stats.databases) {
    select.replaceChildren();
    for (let i = 0; i < stats.databases; i++) select.appendChild(el("option", i));
  }
}

// -- key browser ---------------------------------------------------------------------------------
async function scan(fresh) {
  if (fresh) { scanCursor = "0"; $("key-list").replaceChildren(); }
  const params = new URLSearchParams({ db: $("db").value || "0", pattern: $("pattern").value, cursor: scanCursor, count: "100" });
  try {
    const found = await getJSON("/api/keys?" + params);
    for (const key of found.keys) {
      const li = el("li", key.name);
      li.dataset.id = key.id;
      li.appendChild(el("span", key.type, "type"));
      li.addEventListener("click", () => {
        document.querySelectorAll("#key-list li.chosen").forEach((n) => n.classList.remove("chosen"));
        li.classList.add("chosen");
        showKey(key.id, "0", true);
      });
      $("key-list").appendChild(li);
    }
    scanCursor = found.cursor;
    $("more").disabled = scanCursor === "0";
    if (!$("key-list").children.length) $("key-list").appendChild(el("li", "(no keys)", "hint"));
  } catch (err) {
    $("status").textContent = err.message;
  }
}

function valueTable(type) {
  const table = el("table");
  table.className = "value";
  const heads = { hash: ["field", "value"], zset: ["member", "score"], list: ["#", "element"], set: ["member"] }[type];
  const head = el("tr");
  for (const h of heads) head.appendChild(el("th", h));
  table.appendChild(head);
  return table;
}

async function showKey(id, page, fresh) {
  const detail = $("key-detail");
  const params = new URLSearchParams({ db: $("db").value || "0", id, page, count: "100" });
  let key;
  try {
    key = await getJSON("/api/key?" + params);
  } catch (err) {
    detail.replaceChildren(el("p", err.message, "hint"));
    return;
  }
  if (fresh) {
    detail.replaceChildren();
    detail.dataset.id = id;
    const dl = el("dl");
    const ttl = key.ttl < 0 ? "none" : (key.ttl / 1000).toFixed(3) + " s";
    for (const [k, v] of [["key", key.name], ["type", key.type], ["ttl", ttl], ["encoding", key.encoding],
      ["memory", bytes(key.memory)], ["length", key.length]]) {
      dl.appendChild(el("dt", k));
      dl.appendChild(el("dd", v, "meta-" + k));
    }
    detail.appendChild(dl);
    if (key.type === "string") {
      const pre = el("pre", "", "value string");
      pre.id = "string-value";
      detail.appendChild(pre);
    } else {
      const table = valueTable(key.type);
      table.id = "collection-value";
      detail.appendChild(table);
    }
    const more = el("button", "next page");
    more.id = "value-more";
    detail.appendChild(more);
  }
  if (key.type === "string") {
    $("string-value").textContent += key.value;
  } else {
    const table = $("collection-value");
    key.value.forEach((item, i) => {
      if (key.type === "list") table.appendChild(row([Number(key.page) + i, item]));
      else if (key.type === "set") table.appendChild(row([item]));
      else table.appendChild(row(item));
    });
  }
  const more = $("value-more");
  more.hidden = key.next === null;
  more.onclick = () => showKey(id, key.next, false);
}

// -- slowlog and clients -----------------------------------------------------------------------
async function showSlowlog() {
  try {
    const log = await getJSON("/api/slowlog?count=50");
    fill("slowlog", log.entries.map((e) => row([e.id, new Date(e.time * 1000).toLocaleTimeString(),
      e.duration_us, e.args.join(" "), e.client])));
  } catch (err) { $("status").textContent = err.message; }
}

async function showClients() {
  try {
    const list = await getJSON("/api/clients");
    fill("clients", list.clients.map((c) => row([c.id, c.addr, c.name, c.age, c.idle, c.db, c.cmd])));
  } catch (err) { $("status").textContent = err.message; }
}

$("key-search").addEventListener("submit", (event) => { event.preventDefault(); scan(true); });
$("more").addEventListener("click", () => scan(false));
$("slowlog-refresh").addEventListener("click", showSlowlog);
$("clients-refresh").addEventListener("click", showClients);

pollStats();
setInterval(pollStats, 1000);
showSlowlog();
showClients();
setInterval(() => { showSlowlog(); showClients(); }, 5000);
