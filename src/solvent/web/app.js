// The public transparency page: funds with their balance history, a live liquidation feed, market
// health and daily reports, all read from the public API; "verify" re-checks a fund's hash chain in
// the browser (Web Crypto SHA-256) against the venue's published head. No framework, no network
// beyond this server: uPlot is vendored beside this file.
"use strict";

const API = "api/v1/public";
const PAGE = 10000;
const RANGES = { day: 86400, week: 7 * 86400, all: null };
const state = { funds: {}, charts: {}, seen: {}, feedSeen: new Set(), ready: false, buffered: [], refreshTimer: null };
window.solvent = state; // for the browser tests and the curious

async function getJSON(path) {
  const response = await fetch(`${API}${path}`, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? "–"));
  return node;
}

// ---- the hash chain, exactly as solvent.engine.funds computes it ---------------------------------
// canonical = Python's json.dumps(entry without "hash", sort_keys=True, separators=(",", ":")),
// which escapes every non-ASCII UTF-16 unit as \uXXXX (ensure_ascii).
function pyString(text) {
  return JSON.stringify(text).replace(/[\u0080-\uffff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

function canonical(value) {
  if (value === null) return "null";
  if (typeof value === "string") return pyString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  const keys = Object.keys(value).filter((key) => key !== "hash").sort();
  return "{" + keys.map((key) => pyString(key) + ":" + canonical(value[key])).join(",") + "}";
}

async function sha256hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// exact decimal strings as BigInt at 18 places (balance_after = previous + delta)
function scaled(text) {
  const match = /^(-?)(\d+)(?:\.(\d{0,18}))?$/.exec(String(text));
  if (!match) throw new Error(`not a decimal: ${text}`);
  const value = BigInt(match[2] + (match[3] || "").padEnd(18, "0"));
  return match[1] ? -value : value;
}

async function verifyChain(entries, head) {
  if (!(window.crypto && crypto.subtle)) return { ok: false, reason: "Web Crypto is unavailable (it needs https or localhost)" };
  let previous = "0".repeat(64);
  let balance = null;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index];
    const expected = await sha256hex(previous + canonical(entry));
    if (entry.hash !== expected) return { ok: false, index, reason: `entry ${index}: hash does not match its content` };
    const after = scaled(entry.balance_after);
    if (balance !== null && balance + scaled(entry.delta) !== after) {
      return { ok: false, index, reason: `entry ${index}: balance_after is not the previous balance plus delta` };
    }
    balance = after;
    previous = entry.hash;
  }
  if (previous !== head) return { ok: false, index: entries.length, reason: "the last hash is not the published head (entries missing or added)" };
  return { ok: true, count: entries.length };
}

async function fetchHistory(fund) {
  const entries = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await getJSON(`/funds/${encodeURIComponent(fund)}/history?offset=${offset}&limit=${PAGE}`);
    entries.push(...page.entries);
    if (entries.length >= page.total || page.entries.length === 0) return entries;
  }
}

async function verifyFund(fund) {
  const out = document.querySelector(`[data-fund="${CSS.escape(fund)}"] .verify-result`);
  out.className = "verify-result muted";
  out.textContent = "verifying…";
  try {
    const [entries, head] = await Promise.all([fetchHistory(fund), getJSON("/head")]);
    const result = await verifyChain(entries, head.funds[fund]);
    out.className = "verify-result " + (result.ok ? "verified" : "broken");
    out.textContent = result.ok ? `✓ verified: ${result.count} entries chain to the published head`
      : `✗ broken: ${result.reason}`;
    out.dataset.result = result.ok ? "verified" : "broken";
  } catch (error) {
    out.className = "verify-result broken";
    out.textContent = `✗ could not verify: ${error.message}`;
    out.dataset.result = "error";
  }
}

// ---- funds and their charts --------------------------------------------------------------------
function seriesOf(entries) {
  const xs = [], ys = [];
  for (const entry of entries) {
    xs.push(Date.parse(entry.time) / 1000);
    ys.push(Number(entry.balance_after)); // display only; the booked figure is the text above
  }
  return [xs, ys];
}

function setRange(fund, range) {
  const chart = state.charts[fund];
  const card = document.querySelector(`[data-fund="${CSS.escape(fund)}"]`);
  card.querySelectorAll("button[data-range]").forEach((b) => b.classList.toggle("active", b.dataset.range === range));
  card.dataset.range = range;
  const xs = chart.data[0];
  if (!xs.length) return;
  const last = xs[xs.length - 1];
  const span = RANGES[range];
  const min = span === null ? xs[0] : last - span;
  chart.setScale("x", { min: Math.min(min, last - 1), max: last + (span === null ? 1 : 0) });
}

function fundCard(name, fund) {
  const card = el("div", { class: "fund", "data-fund": name },
    el("h3", {}, name, el("span", { class: "muted" }, ` · ${fund.asset}`)),
    el("div", { class: "balance" }, `${fund.balance} ${fund.asset}`),
    el("div", { class: "mono muted head" }, `head ${fund.head}`),
    el("div", { class: "controls" },
      ...Object.keys(RANGES).map((range) => el("button", { "data-range": range, onclick: () => setRange(name, range) }, range)),
      el("button", { class: "verify", onclick: () => verifyFund(name) }, "verify"),
      el("span", { class: "verify-result muted" }, "")),
    el("div", { class: "chart" }));
  return card;
}

function drawChart(name, entries) {
  const card = document.querySelector(`[data-fund="${CSS.escape(name)}"]`);
  const holder = card.querySelector(".chart");
  const data = seriesOf(entries);
  const width = Math.max(300, holder.clientWidth || 500);
  const chart = new uPlot({
    width, height: 200,
    scales: { x: { time: true } },
    series: [{}, { label: name, stroke: "#0969da", fill: "rgba(9,105,218,0.08)", width: 2,
                   paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
    axes: [{}, { size: 70 }],
  }, data, holder);
  state.charts[name] = chart;
  holder.dataset.points = String(data[0].length);
  setRange(name, "all");
}

function appendFundEvent(event) {
  const name = event.fund;
  if (state.seen[name]?.has(event.hash)) return; // already in the history loaded at start
  (state.seen[name] ??= new Set()).add(event.hash);
  const card = document.querySelector(`[data-fund="${CSS.escape(name)}"]`);
  if (!card) { loadFunds(); return; }
  card.querySelector(".balance").textContent = `${event.balance_after} ${event.asset}`;
  card.querySelector(".head").textContent = `head ${event.hash}`;
  const chart = state.charts[name];
  const [xs, ys] = chart.data;
  xs.push(Date.parse(event.time) / 1000);
  ys.push(Number(event.balance_after));
  chart.setData([xs, ys]);
  card.querySelector(".chart").dataset.points = String(xs.length);
  setRange(name, card.dataset.range || "all");
}

async function loadFunds() {
  const funds = await getJSON("/funds");
  const box = document.getElementById("funds");
  for (const [name, fund] of Object.entries(funds)) {
    if (state.funds[name]) continue;
    state.funds[name] = fund;
    box.append(fundCard(name, fund));
    const entries = await fetchHistory(name);
    state.seen[name] = new Set(entries.map((entry) => entry.hash));
    drawChart(name, entries);
  }
}

// ---- tables ------------------------------------------------------------------------------------
function short(price) {
  // an average fill is exact (many decimals); show cents, keep the exact figure in the tooltip
  if (price === null || price === undefined) return el("td", {}, "–");
  const text = String(price);
  return el("td", { title: text }, text.includes(".") && text.split(".")[1].length > 2 ? Number(text).toFixed(2) : text);
}

function feedRow(event) {
  if (event.type === "margin_liquidation") {
    return el("tr", { class: "new", "data-kind": "margin" }, el("td", {}, event.time), el("td", {}, "margin"),
      el("td", {}, `${event.margin_account} / ${event.account}`), el("td", {}, "–"),
      el("td", {}, `${event.assets_value} USDT`), el("td", {}, "–"), el("td", {}, "–"),
      el("td", {}, `+${event.clearance_fee}`), el("td", {}, "margin:USDT"));
  }
  return el("tr", { class: "new", "data-kind": "futures", "data-ref": event.ref || "" },
    el("td", {}, event.time), el("td", {}, "futures"), el("td", {}, `${event.market} / ${event.account}`),
    el("td", {}, event.side), el("td", {}, event.qty), el("td", {}, event.bankruptcy_price),
    short(event.average_fill), el("td", {}, event.fund_delta), el("td", {}, event.fund));
}

function addToFeed(event) {
  const key = event.ref || event.id || `${event.time}/${event.account}`;
  if (state.feedSeen.has(key)) return;
  state.feedSeen.add(key);
  const body = document.querySelector("#feed tbody");
  body.prepend(feedRow(event));
  while (body.children.length > 200) body.lastChild.remove();
}

async function loadFeed() {
  const recent = await getJSON("/liquidations?limit=50");
  document.querySelector("#feed tbody").replaceChildren();
  for (const event of recent) addToFeed(event);
}

async function loadDaily() {
  const reports = await getJSON("/reports/daily");
  const body = document.querySelector("#daily tbody");
  body.replaceChildren();
  for (const [fund, rows] of Object.entries(reports)) {
    for (const row of rows) {
      body.append(el("tr", { "data-fund": fund, "data-day": row.day }, el("td", {}, fund), el("td", {}, row.day),
        ...["opening_balance", "closing_balance", "inflow", "outflow", "net", "liquidations",
          "liquidation_notional", "deficits_covered", "adl_count", "adl_notional"].map(
          (key) => el("td", { "data-key": key }, String(row[key])))));
    }
  }
}

async function loadHealth() {
  const health = await getJSON("/health");
  const body = document.querySelector("#health tbody");
  body.replaceChildren();
  for (const [market, row] of Object.entries(health)) {
    const risk = row.adl_risk ?? "–";
    body.append(el("tr", { "data-market": market }, el("td", {}, market), el("td", {}, row.fund),
      el("td", {}, row.open_interest), el("td", {}, row.last_funding_rate ?? "–"), el("td", {}, row.fund_balance),
      el("td", {}, row.fund_change_8h ?? "–"), el("td", {}, `${row.coverage_pct ?? row.coverage ?? "–"}`),
      el("td", {}, `${row.coverage_with_depth_pct ?? row.coverage_with_depth ?? "–"}`),
      el("td", { class: `risk-${risk}` }, risk)));
  }
}

async function loadHead() {
  const head = await getJSON("/head");
  document.getElementById("head-seq").textContent = head.seq;
  document.getElementById("head-hash").textContent = head.state_hash;
}

function refreshSoon() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => Promise.all([loadDaily(), loadHealth(), loadHead()]).catch(console.error), 500);
}

function connect() {
  const status = document.getElementById("status");
  const source = new EventSource(`${API}/stream`);
  source.onopen = () => { status.textContent = "live"; status.dataset.live = "1"; };
  source.onerror = () => { status.textContent = "reconnecting…"; status.dataset.live = "0"; };
  const handle = (event) => {
    if (event.type === "fund") appendFundEvent(event); else addToFeed(event);
    refreshSoon();
  };
  for (const kind of ["fund", "liquidation", "margin_liquidation"]) {
    source.addEventListener(kind, (message) => {
      const event = JSON.parse(message.data);
      if (state.ready) handle(event); else state.buffered.push(event); // until the first load is drawn
    });
  }
  state.handle = handle;
  state.source = source;
}

async function main() {
  connect(); // first, so that nothing happening during the load is missed (duplicates are skipped)
  try {
    await Promise.all([loadHead(), loadFunds(), loadFeed(), loadDaily(), loadHealth()]);
    state.ready = true;
    for (const event of state.buffered.splice(0)) state.handle(event);
    document.body.dataset.ready = "1";
  } catch (error) {
    document.getElementById("status").textContent = `error: ${error.message}`;
  }
}

main();
