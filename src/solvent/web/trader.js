// A trader's own page: the native API's account view and histories, signed in the browser with the
// trader's key (HMAC-SHA256 via Web Crypto, exactly as solvent.service.auth.signature computes it).
"use strict";

const WINDOW_MS = 5000;
const session = { account: null, key: null, secret: null, timer: null };
window.solventTrader = session;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? "–"));
  return node;
}

async function hmacHex(secret, text) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
  return Array.from(new Uint8Array(mac), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// signature = hex HMAC(secret, timestamp \n recv_window \n METHOD \n path?query \n body)
async function signedGet(path) {
  const stamp = Date.now();
  const signature = await hmacHex(session.secret, `${stamp}\n${WINDOW_MS}\nGET\n${path}\n`);
  const response = await fetch(path, { headers: {
    "X-Solvent-Key": session.key, "X-Solvent-Timestamp": String(stamp),
    "X-Solvent-Recv-Window": String(WINDOW_MS), "X-Solvent-Signature": signature } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status} ${body.code ?? ""}: ${body.message ?? ""}`);
  return body;
}

function quantile(value) {
  const level = Number(value ?? 0);
  return el("td", { "data-quantile": String(level), title: `ADL quantile ${level} of 4` },
    "●".repeat(level) + "○".repeat(4 - level) + ` ${level}`);
}

async function refresh() {
  const base = `/api/v1/accounts/${encodeURIComponent(session.account)}`;
  const status = document.getElementById("login-status");
  try {
    const [view, liquidations, adl] = await Promise.all([signedGet(base), signedGet(`${base}/liquidations`),
      signedGet(`${base}/adl`)]);
    const positions = document.querySelector("#positions tbody");
    positions.replaceChildren();
    for (const [market, p] of Object.entries(view.positions || {})) {
      if (Number(p.qty) === 0) continue;
      positions.append(el("tr", { "data-market": market }, el("td", {}, market), el("td", {}, p.margin_mode),
        el("td", {}, p.qty), el("td", {}, p.entry_price), el("td", {}, `${p.leverage}x`), el("td", {}, p.margin),
        el("td", {}, p.upnl), el("td", { "data-key": "liquidation_price" }, p.liquidation_price),
        el("td", { "data-key": "bankruptcy_price" }, p.bankruptcy_price), quantile(p.adl_quantile)));
    }
    const balances = document.querySelector("#balances tbody");
    balances.replaceChildren(...Object.entries(view.balances || {}).map(
      ([asset, amount]) => el("tr", {}, el("td", {}, asset), el("td", {}, amount))));
    const history = document.querySelector("#history tbody");
    const rows = [...liquidations.map((e) => ["liquidation", e]), ...adl.map((e) => ["adl", e])]
      .sort((a, b) => b[1].seq - a[1].seq);
    history.replaceChildren(...rows.map(([kind, e]) => el("tr", {}, el("td", {}, e.time), el("td", {}, kind),
      el("td", {}, e.market), el("td", {}, e.side ?? "–"), el("td", {}, e.qty),
      el("td", {}, e.bankruptcy_price ?? e.price ?? "–"))));
    status.textContent = `signed in as ${session.key} · updated ${new Date().toLocaleTimeString()}`;
    status.className = "verified";
    document.body.dataset.ready = "1";
  } catch (error) {
    status.textContent = `refused: ${error.message}`;
    status.className = "broken";
    document.body.dataset.ready = "error";
  }
}

function start(account, key, secret) {
  Object.assign(session, { account, key, secret });
  sessionStorage.setItem("solvent-trader", JSON.stringify({ account, key, secret }));
  clearInterval(session.timer);
  refresh();
  session.timer = setInterval(refresh, 3000);
}

document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  start(form.get("account"), form.get("key"), form.get("secret"));
});

const saved = sessionStorage.getItem("solvent-trader");
if (saved) {
  const { account, key, secret } = JSON.parse(saved);
  const form = document.getElementById("login");
  form.account.value = account; form.key.value = key; form.secret.value = secret;
  start(account, key, secret);
}
