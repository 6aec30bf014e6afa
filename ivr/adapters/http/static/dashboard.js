/* dashboard.js: the controller of the 112 live dashboard: sign-in (token), the live
   WebSocket, tabs, the 1 s tick, the header, and every action (POST) with its toast.
   Rules: the token lives in sessionStorage only and goes as "Authorization: Bearer" on
   every fetch and as the first WebSocket message; each snapshot replaces the whole view;
   counters tick from snapshot.now plus local elapsed time; the socket reconnects with a
   1 s backoff doubling to 10 s; a server rejection (WS error / HTTP 401) returns to the
   login form with its message. "#token=..." in the address (at load or on hashchange)
   signs in when no session is open (or it is the open session's own token) and is
   always removed from the address bar; a link with another user's token never switches
   an open session: the page says to sign out first. Parts of the snapshot a role may not
   see are absent (not empty): their panels are hidden. What is submitted carries no
   "by": the server records the signed-in user.
   Stable hooks (browser tests): #login-form #token #signout #conn[data-state] #lang
   #clock #wallboard #desk #waiting #takers #calls #kpis [data-kpi] #chart-hour
   #chart-answer #callbacks .callback-start .callback-taker #screening #my-status #login #logout
   #pause #pause-reason #unpause #my-call [data-disposition] [data-agency] #leave #toast;
   the incident form's and the agencies' response table's: incident.js, response.js. */

import { applyStatic, getLang, setLang, t, tv } from "./i18n.js";
import { esc, timeHMS } from "./format.js";
import { clearViews, picksTaker, renderWallboard, tick } from "./views.js";
import { isOffered, renderDesk } from "./desk.js";

const TOKEN_KEY = "kendari112.dashboard.token";
const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  ws: null,
  backoff: 1000,
  retryTimer: 0,
  lastMessage: 0,
  snap: null,
  receivedAt: 0, // performance.now() when snap arrived
  view: null, // "wallboard" | "desk", null until the user is known
  toastTimer: 0,
};
// Shared with the views: what is in flight and what the user picked in the selects.
const ctx = { lang: getLang(), busy: new Set(), cbChoice: new Map(), pauseReason: "" };

/** Server time now: the snapshot's clock plus the time elapsed here since it arrived. */
function serverNow() {
  if (!state.snap) return Date.now() / 1000;
  return state.snap.now + (performance.now() - state.receivedAt) / 1000;
}

// ---- sign-in -------------------------------------------------------------------------

/** The token of a "#token=..." link, taken out of the address bar; null without one. */
function takeLinkToken() {
  const match = location.hash.match(/(?:^#|&)token=([^&]*)/);
  if (!match) return null;
  history.replaceState(null, "", location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1]; // not %-encoded: take it as written
  }
}

/** May a link's token sign in? Not over another user's session open in this tab. */
function linkAllowed(linked, open) {
  if (open && linked !== open) {
    toast(t("login.other_user"), "error");
    return false;
  }
  return true;
}

function showLogin(message) {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  dropSocket();
  clearTimeout(state.retryTimer);
  state.snap = null;
  state.view = null;
  ctx.busy.clear();
  clearViews();
  $("app").hidden = true;
  $("signout").hidden = true;
  $("stale-banner").hidden = true;
  $("incoming-alert").hidden = true;
  $("toast").hidden = true;
  for (const id of ["tab-wallboard", "tab-desk"]) $(id).hidden = true;
  $("who").textContent = "";
  $("clock").textContent = "";
  $("login-view").hidden = false;
  $("login-message").textContent = message || "";
  setConn(false);
  $("token").focus();
}

function startSession(token) {
  state.token = token;
  $("login-view").hidden = true;
  $("app").hidden = false;
  $("boot").hidden = false;
  $("signout").hidden = false;
  for (const id of ["wallboard", "desk", "callbacks-panel"]) $(id).hidden = true;
  state.backoff = 1000;
  connect();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) {
    $("login-message").textContent = t("login.empty");
    return;
  }
  $("token").value = "";
  sessionStorage.setItem(TOKEN_KEY, token);
  startSession(token);
});

// ---- live socket -----------------------------------------------------------------------

function setConn(live) {
  const el = $("conn");
  el.dataset.state = live ? "live" : "down";
  el.querySelector(".conn-text").textContent = live ? t("conn.live") : state.token ? t("conn.retry") : t("conn.down");
  $("stale-banner").hidden = live || !state.snap;
  document.body.classList.toggle("stale", !live && Boolean(state.snap));
}

function dropSocket() {
  const ws = state.ws;
  state.ws = null;
  if (ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close();
    } catch {
      /* already closed */
    }
  }
}

function scheduleReconnect() {
  setConn(false);
  if (!state.token) return;
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(connect, state.backoff);
  state.backoff = Math.min(state.backoff * 2, 10000);
}

function connect() {
  dropSocket();
  clearTimeout(state.retryTimer);
  if (!state.token) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let ws;
  try {
    ws = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
  } catch {
    scheduleReconnect();
    return;
  }
  state.ws = ws;
  state.lastMessage = performance.now();
  ws.onopen = () => ws.send(JSON.stringify({ token: state.token }));
  ws.onmessage = (event) => {
    state.lastMessage = performance.now();
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (msg.type === "error") {
      showLogin(msg.error || t("err.auth"));
    } else if (msg.type === "snapshot") {
      state.backoff = 1000;
      onSnapshot(msg);
    }
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.ws = null;
    scheduleReconnect();
  };
  ws.onerror = () => {}; // a close event follows
}

// ---- rendering -------------------------------------------------------------------------

function onSnapshot(snap) {
  state.snap = snap;
  state.receivedAt = performance.now();
  setConn(true);
  render();
}

function allowedViews(user) {
  const roles = user.roles || [];
  const views = [];
  if (roles.includes("supervisor") || roles.includes("engineer") || !user.taker) views.push("wallboard");
  if (user.taker) views.push("desk");
  return views;
}

function applyView() {
  const user = state.snap.user || {};
  const allowed = allowedViews(user);
  if (!allowed.includes(state.view)) state.view = user.taker ? "desk" : "wallboard";
  $("boot").hidden = true;
  for (const view of ["wallboard", "desk"]) {
    $(view).hidden = view !== state.view;
    const tab = $(`tab-${view}`);
    tab.hidden = !allowed.includes(view);
    tab.setAttribute("aria-selected", String(view === state.view));
  }
  const panel = $("callbacks-panel");
  const slot = document.querySelector(`.cb-slot[data-slot="${state.view}"]`);
  if (panel.parentElement !== slot) slot.appendChild(panel);
  panel.hidden = !("callbacks" in state.snap); // not for this role
}

function render() {
  const snap = state.snap;
  if (!snap) return;
  ctx.lang = getLang();
  applyView();
  const user = snap.user || {};
  $("centre").textContent = snap.centre || "112";
  const roles = (user.roles || []).map((r) => tv("role", r)).join(", ");
  $("who").innerHTML = `<b>${esc(user.name)}</b> <span>${esc(roles)}${user.taker ? ` · ${esc(user.taker)}` : ""}</span>`;
  renderWallboard(snap, ctx);
  renderDesk(snap, ctx);
  const alert = $("incoming-alert");
  alert.hidden = !(isOffered(snap) && state.view !== "desk");
  alert.textContent = `${t("call.incoming")}: ${snap.my_call ? snap.my_call.caller : ""}`;
  everySecond();
}

let titleBlink = false;
function everySecond() {
  if (!state.snap) return;
  const now = serverNow();
  $("clock").textContent = timeHMS(now, state.snap.timezone);
  tick(now);
  titleBlink = isOffered(state.snap) ? !titleBlink : false;
  document.title = titleBlink ? `(!) ${t("call.incoming")}` : t("app.title");
  // A socket that went quiet (no snapshot for 5 s) is dead even if it was never closed.
  if (state.ws && state.ws.readyState === WebSocket.OPEN && performance.now() - state.lastMessage > 5000) {
    dropSocket();
    scheduleReconnect();
  }
}
setInterval(everySecond, 500);

// ---- actions ---------------------------------------------------------------------------

function toast(text, kind) {
  const el = $("toast");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => (el.hidden = true), kind === "error" ? 10000 : 6000);
}

/** POST (or `method`) path with body; busyKey disables the button(s) while in flight; okText
 *  on success. Resolves to whether the server took it. */
async function post(path, body, busyKey, okText, button, method = "POST") {
  if (ctx.busy.has(busyKey)) return false;
  ctx.busy.add(busyKey);
  if (button) button.disabled = true;
  render();
  try {
    const init = { method, headers: { Authorization: `Bearer ${state.token}` } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      toast(t("err.network"), "error");
      return false;
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      /* not JSON */
    }
    const problems = data && Array.isArray(data.problems) ? data.problems.map(String) : [];
    const message = data && typeof data.error === "string" ? [data.error, ...problems].join(": ") : "";
    if (response.status === 401) {
      showLogin(message || t("err.auth"));
      return false;
    }
    if (!response.ok) toast(message || t("err.status", { what: response.status }), "error");
    else toast(okText, "ok");
    return response.ok;
  } finally {
    ctx.busy.delete(busyKey);
    render(); // redraws the button with the state the rules give it
  }
}

// The incident form (incident.js) sends through the same door, with its own method.
ctx.send = (method, path, body, busyKey, okText, button) => post(path, body, busyKey, okText, button, method);
ctx.toast = toast;

const enc = encodeURIComponent;

function onClick(event) {
  const button = event.target.closest("button");
  if (!button || button.disabled) return;
  const snap = state.snap;
  const user = (snap && snap.user) || {};
  const mine = user.taker; // the signed-in call taker, if the user is one
  const id = button.id;
  if (id === "lang") {
    setLang(getLang() === "id" ? "en" : "id");
    applyStatic();
    setConn($("conn").dataset.state === "live");
    render();
  } else if (id === "signout") {
    showLogin("");
  } else if (button.dataset.view) {
    state.view = button.dataset.view;
    render();
  } else if (id === "incoming-alert") {
    state.view = "desk";
    render();
  } else if (!snap) {
    return;
  } else if (["login", "logout", "unpause"].includes(id) && mine) {
    post(`/api/v1/takers/${enc(mine)}/${id}`, undefined, `taker:${id}`, t(`ok.${id}`), button);
  } else if (id === "pause" && mine) {
    const reason = $("pause-reason").value;
    post(`/api/v1/takers/${enc(mine)}/pause`, { reason }, "taker:pause", t("ok.pause"), button);
  } else if (button.classList.contains("callback-start")) {
    const row = button.closest("tr[data-call]");
    const callId = row.dataset.call;
    const select = row.querySelector("select.callback-taker");
    const taker = picksTaker(user) ? select && select.value : mine;
    if (!taker) {
      toast(t("cb.none_free"), "error");
      return;
    }
    const caller = row.querySelector(".caller").textContent;
    post(`/api/v1/callbacks/${enc(callId)}`, { taker }, `cb:${callId}`, t("ok.callback", { what: `${caller} → ${taker}` }), button);
  } else if (button.closest("#my-call") && snap.my_call) {
    const callId = snap.my_call.call_id;
    const label = button.textContent.trim();
    if (button.dataset.disposition) {
      const body = { disposition: button.dataset.disposition };
      post(`/api/v1/calls/${enc(callId)}/disposition`, body, `disp:${callId}`, t("ok.disposition", { what: label }), button);
    } else if (button.dataset.agency) {
      const body = { agency: button.dataset.agency };
      const key = `agency:${callId}:${button.dataset.agency}`;
      post(`/api/v1/calls/${enc(callId)}/agencies`, body, key, t("ok.agency", { what: label }), button);
    } else if (id === "leave") {
      post(`/api/v1/calls/${enc(callId)}/leave`, undefined, `leave:${callId}`, t("ok.leave"), button);
    }
  }
}

function onChange(event) {
  const el = event.target;
  if (el.id === "pause-reason") ctx.pauseReason = el.value;
  else if (el.classList.contains("callback-taker")) ctx.cbChoice.set(el.closest("tr[data-call]").dataset.call, el.value);
}

document.addEventListener("click", onClick);
document.addEventListener("change", onChange);

// ---- start -----------------------------------------------------------------------------

setLang(getLang());
applyStatic();
// A session kept in this tab (a reload) wins over a link carrying another user's token.
const stored = sessionStorage.getItem(TOKEN_KEY);
const linked = takeLinkToken();
const initial = linked && linkAllowed(linked, stored) ? linked : stored;
if (initial) {
  sessionStorage.setItem(TOKEN_KEY, initial);
  startSession(initial);
} else showLogin("");
// A "#token=..." typed (or set by a test) into an open page signs in only if no one is.
window.addEventListener("hashchange", () => {
  const token = takeLinkToken();
  if (!token || token === state.token || !linkAllowed(token, state.token)) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  startSession(token);
});
