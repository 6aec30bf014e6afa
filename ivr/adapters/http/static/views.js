/* views.js: draws the wallboard (KPI tiles, the city's figures from response.js, waiting
   callers, call takers, live calls, charts) and the callback list from one complete snapshot; owns the ticking counters.
   Rules: a snapshot replaces the whole view, but a row is rebuilt only when its own data
   changed (a keyed patch), so an open <select> or focus survives the 1 s refresh; ticking
   cells carry data-since (server epoch) and are updated by tick(), never rebuilt for it;
   a part the snapshot leaves out (the role may not see it) hides its panel, an empty
   part shows its "none" note; test hooks (ids, data-* attributes, classes) are listed
   in dashboard.js. */

import { DASH, badge, caller, chip, clockDuration, decimal, esc, flagBadges, percent, timeHM } from "./format.js";
import { drawAnswerChart, drawHourChart } from "./charts.js";
import { CITY_TILES, renderResponse } from "./response.js";
import { t, tv } from "./i18n.js";

const meta = new WeakMap(); // element -> {key, sig}
const template = document.createElement("template");

function fromHTML(html) {
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

/** Keyed patch of container's children: build(item) only for new or changed items. */
export function syncChildren(container, items, keyOf, sigOf, build) {
  const old = new Map();
  for (const el of container.children) {
    const m = meta.get(el);
    if (m) old.set(m.key, el);
    else el.remove();
  }
  const keep = new Set();
  let prev = null;
  for (const item of items) {
    const key = keyOf(item);
    if (keep.has(key)) continue;
    const sig = sigOf(item);
    let el = old.get(key);
    if (!el || meta.get(el).sig !== sig) {
      const fresh = fromHTML(build(item));
      meta.set(fresh, { key, sig });
      if (el) el.replaceWith(fresh);
      el = fresh;
    }
    keep.add(key);
    const want = prev ? prev.nextElementSibling : container.firstElementChild;
    if (el !== want) container.insertBefore(el, want);
    prev = el;
  }
  for (const [key, el] of old) if (!keep.has(key)) el.remove();
}

/** Replace el's content only when sig changed. */
export function patch(el, sig, build) {
  const m = meta.get(el);
  if (m && m.sig === sig) return;
  el.innerHTML = build();
  meta.set(el, { key: el.id, sig });
}

function showEmpty(name, empty) {
  const note = document.querySelector(`[data-empty-for="${name}"]`);
  if (note) note.hidden = !empty;
}

/** A ticking counter: since is a server epoch; warn/alarm in seconds colour it. */
export function ticker(since, warn = 0, alarm = 0) {
  if (since == null) return DASH;
  return `<span class="tick" data-since="${Number(since)}" data-warn="${warn}" data-alarm="${alarm}"></span>`;
}

/** Update every ticking counter on the page to the server time now. */
export function tick(now) {
  for (const el of document.querySelectorAll(".tick[data-since]")) {
    const elapsed = now - Number(el.dataset.since);
    const text = clockDuration(elapsed);
    if (el.textContent !== text) el.textContent = text;
    const warn = Number(el.dataset.warn);
    const alarm = Number(el.dataset.alarm);
    const level = alarm && elapsed >= alarm ? "alarm" : warn && elapsed >= warn ? "warn" : "";
    if ((el.dataset.level || "") !== level) el.dataset.level = level;
  }
}

function takerRef(snap, id) {
  const a = (snap.takers || []).find((x) => x.id === id);
  return `<b class="taker-ref" title="${esc(a ? a.name : id)}">${esc(id)}</b>`;
}

const KPI_ORDER = [
  ["calls", (k) => decimal(k.calls)],
  ["answered_within_10", (k) => percent(k.answered_within && k.answered_within["10"])],
  ["answered_within_15", (k) => percent(k.answered_within && k.answered_within["15"])],
  ["answered_within_20", (k) => percent(k.answered_within && k.answered_within["20"])],
  ["average_answer_seconds", (k) => k.average_answer_seconds, true],
  ["abandon_rate", (k) => percent(k.abandon_rate)],
  ["prank_share", (k) => percent(k.prank_share)],
  ["silent_share", (k) => percent(k.silent_share)],
  ["average_answer_to_agency_seconds", (k) => k.average_answer_to_agency_seconds, true],
  ...CITY_TILES, // the figures the city reports (response.js)
];

function renderKpis(snap, lang) {
  const k = snap.kpis || {};
  syncChildren(
    document.getElementById("kpis"),
    KPI_ORDER,
    ([name]) => name,
    ([name, value, , extra]) => `${lang}|${value(k)}|${k.answered}|${k.abandoned}|${extra && snap.kpis ? extra(k) : ""}`,
    ([name, value, inSeconds, extra]) => {
      const sub =
        name === "calls" && snap.kpis
          ? `<div class="kpi-sub">${esc(decimal(k.answered))} ${esc(t("kpi.answered"))} · ${esc(decimal(k.abandoned))} ${esc(t("kpi.abandoned"))}</div>`
          : extra && snap.kpis ? `<div class="kpi-sub">${esc(extra(k))}</div>` : "";
      const v = value(k);
      const shown = inSeconds === "clock"
        ? v == null ? DASH : esc(clockDuration(v))
        : inSeconds
        ? v == null ? DASH : `${esc(decimal(v))}<span class="unit"> ${esc(t("unit.s"))}</span>`
        : esc(v);
      return `<div class="kpi" data-kpi="${name}"><div class="kpi-value">${shown}</div>
        <div class="kpi-label">${esc(t(`kpi.${name}`))}</div>${sub}</div>`;
    },
  );
}

/** Each service-level tier over the window against its target: green when met, amber
 *  below it, red once below for the configured minutes (the alarm in /api/health). */
function renderServiceLevel(snap, lang) {
  const tiers = snap.service_level || [];
  syncChildren(
    document.getElementById("service-level"),
    tiers,
    (f) => String(f.within_seconds),
    (f) => `${lang}|${JSON.stringify(f)}`,
    (f) => {
      const state = f.standing === "alarm"
        ? `${t("sl.alarm")} ${timeHM(f.below_since, snap.timezone)}`
        : t(`sl.${f.standing}`);
      const label = t("sl.label", { s: decimal(f.within_seconds), m: decimal(f.window_seconds / 60) });
      return `<div class="sl sl-${esc(f.standing)}" data-sl="${esc(f.within_seconds)}" data-standing="${esc(f.standing)}">
        <div class="kpi-value">${esc(percent(f.share))}</div>
        <div class="kpi-label">${esc(label)}</div>
        <div class="kpi-sub">${esc(t("sl.target"))} ${esc(percent(f.target))} · ${esc(state)}</div></div>`;
    },
  );
}

function renderWaiting(snap, lang) {
  const rows = snap.waiting || [];
  syncChildren(
    document.querySelector("#waiting tbody"),
    rows,
    (w) => w.call_id,
    (w) => lang + JSON.stringify({ ...w, waited_seconds: 0 }) + (snap.now - w.waited_seconds).toFixed(0),
    (w) => `<tr data-call="${esc(w.call_id)}" data-level="${esc(w.level)}" data-verdict="${esc(w.verdict)}" class="row-${esc(w.level)}">
      <td class="caller">${caller(w.caller)}</td>
      <td>${badge("level", w.level)}${w.has_location ? ` <span class="badge small has-location" title="${esc(t("loc.has"))}">${esc(t("loc.badge"))}</span>` : ""}</td>
      <td>${badge("verdict", w.verdict)} ${flagBadges(w.flags, w.verdict)}
        ${w.screening ? `<div class="screening">${esc(t("col.screening"))}: ${esc(tv("screening", w.screening))}</div>` : ""}</td>
      <td class="num big">${ticker(snap.now - w.waited_seconds, 10, 20)}</td>
      <td>${w.offered_to ? takerRef(snap, w.offered_to) : DASH}</td></tr>`,
  );
  showEmpty("waiting", rows.length === 0);
  document.getElementById("waiting-count").textContent = String(rows.length);
  const longest = rows.reduce((m, w) => Math.max(m, w.waited_seconds || 0), 0);
  const el = document.getElementById("waiting-longest");
  el.innerHTML = rows.length ? `${esc(t("waiting.longest"))} ${ticker(snap.now - longest, 10, 20)}` : "";
}

function renderTakers(snap, lang) {
  const takers = snap.takers || [];
  const callers = new Map((snap.calls || []).map((c) => [c.call_id, c.caller]));
  if (snap.my_call) callers.set(snap.my_call.call_id, snap.my_call.caller);
  syncChildren(
    document.getElementById("takers"),
    takers,
    (a) => a.id,
    (a) => lang + JSON.stringify(a) + (callers.get(a.call_id) || ""),
    (a) => {
      const reason = a.declared === "paused" && a.pause_reason ? `: ${esc(tv("reason", a.pause_reason))}` : "";
      const caller = a.call_id && callers.get(a.call_id);
      const away = a.declared !== "available" && a.activity === "idle"; // paused or logged out, not on a call
      const main = away ? tv("declared", a.declared) : a.activity === "idle" ? t("taker.ready") : tv("activity", a.activity);
      const sub = away
        ? `${a.pause_reason && a.declared === "paused" ? `${esc(tv("reason", a.pause_reason))} · ` : ""}${esc(tv("activity", a.activity))}`
        : `${esc(tv("declared", a.declared))}${reason}`;
      return `<article class="taker act-${esc(a.activity)} dec-${esc(a.declared)}${a.reachable ? "" : " unreachable"}"
        data-taker="${esc(a.id)}" data-declared="${esc(a.declared)}" data-activity="${esc(a.activity)}" data-reachable="${a.reachable ? "true" : "false"}">
        <div class="taker-head"><span class="taker-name">${esc(a.name || a.id)}</span><span class="taker-id">${esc(a.id)}</span></div>
        <div class="taker-main"><span class="taker-state">${esc(main)}</span>
          <span class="taker-time">${ticker(a.activity_since)}</span></div>
        <div class="taker-status">${sub}</div>
        ${caller ? `<div class="taker-call">${esc(t("taker.with"))} <b>${esc(caller)}</b></div>` : ""}
        ${a.reachable ? "" : `<div class="unreachable-badge">${esc(t("taker.unreachable"))}</div>`}
      </article>`;
    },
  );
  const count = (f) => takers.filter(f).length;
  const parts = [
    [t("taker.ready"), count((a) => a.declared === "available" && a.activity === "idle")],
    [t("activity.on-call"), count((a) => a.activity === "on-call")],
    [t("declared.paused"), count((a) => a.declared === "paused")],
    [t("declared.logged-out"), count((a) => a.declared === "logged-out")],
  ];
  const lost = count((a) => !a.reachable);
  if (lost) parts.push([t("taker.unreachable"), lost]);
  document.getElementById("takers-summary").textContent = parts.map(([k, n]) => `${k} ${n}`).join(" · ");
}

function agencyLegs(legs) {
  return (legs || []).map((l) => `<span class="leg">${esc(l.agency)} ${chip("leg", l.status)}</span>`).join(" ") || DASH;
}

function renderCalls(snap, lang) {
  const calls = snap.calls || [];
  syncChildren(
    document.querySelector("#calls tbody"),
    calls,
    (c) => c.call_id,
    (c) => lang + JSON.stringify(c),
    (c) => `<tr data-call="${esc(c.call_id)}" data-phase="${esc(c.phase)}" data-taker="${esc(c.taker || "")}">
      <td class="caller">${caller(c.caller)}</td>
      <td>${chip("phase", c.phase)}</td>
      <td>${c.taker ? takerRef(snap, c.taker) : DASH}</td>
      <td><div class="stack">${badge("level", c.level)} ${badge("verdict", c.verdict)}</div></td>
      <td class="num">${ticker(c.answered_at ?? c.arrived_at)}</td>
      <td>${agencyLegs(c.agencies)}</td></tr>`,
  );
  showEmpty("calls", calls.length === 0);
  document.getElementById("calls-count").textContent = String(calls.length);
}

/** Who may pick the taker of a callback: supervisors, and anyone who is not a call taker. */
export function picksTaker(user) {
  return !user.taker || (user.roles || []).includes("supervisor");
}

const startable = (c) => c.status === "pending" || c.status === "unreached";

function renderCallbacks(snap, ctx) {
  const list = snap.callbacks || [];
  const picker = picksTaker(snap.user || {});
  const tz = snap.timezone;
  const tbody = document.querySelector("#callbacks tbody");
  // A row is rebuilt only when its callback changes; its select and button are then
  // updated in place (free call takers and requests in flight change far more often).
  syncChildren(
    tbody,
    list,
    (c) => c.call_id,
    (c) => `${ctx.lang}|${picker}|${JSON.stringify(c)}`,
    (c) => {
      const last = (c.attempts || []).at(-1);
      const attempts = last
        ? `${c.attempts.length}× · ${esc(tv("result", last.result))} <small>${esc(last.taker || "")} ${esc(timeHM(last.at, tz))}</small>`
        : esc(t("cb.no_attempt"));
      const select = picker ? `<select class="callback-taker" aria-label="${esc(t("cb.choose"))}"></select>` : "";
      return `<tr data-call="${esc(c.call_id)}" data-status="${esc(c.status)}">
        <td class="caller">${caller(c.caller)}</td>
        <td>${esc(timeHM(c.arrived_at, tz))}</td>
        <td class="num">${esc(clockDuration(c.waited_seconds))}</td>
        <td>${badge("verdict", c.verdict)}</td>
        <td class="num">${esc(c.prank_reports ?? 0)}</td>
        <td>${attempts}</td>
        <td>${chip("callback", c.status)}</td>
        <td><div class="actions">${select}<button type="button" class="callback-start" disabled>${esc(t("cb.start"))}</button></div></td></tr>`;
    },
  );
  const free = (snap.takers || []).filter((a) => a.declared === "available" && a.activity === "idle");
  const options = free.length
    ? free.map((a) => `<option value="${esc(a.id)}">${esc(a.id)}: ${esc(a.name || "")}</option>`).join("")
    : `<option value="">${esc(t("cb.none_free"))}</option>`;
  const byId = new Map(list.map((c) => [c.call_id, c]));
  for (const tr of tbody.children) {
    const c = byId.get(tr.dataset.call);
    let can = startable(c) && !ctx.busy.has(`cb:${c.call_id}`);
    const select = tr.querySelector("select.callback-taker");
    if (select) {
      patch(select, ctx.lang + options, () => options);
      const wanted = ctx.cbChoice.get(c.call_id);
      const chosen = free.some((a) => a.id === wanted) ? wanted : free[0]?.id || "";
      if (select.value !== chosen) select.value = chosen;
      select.disabled = !startable(c) || free.length === 0;
      can = can && free.length > 0;
    }
    tr.querySelector(".callback-start").disabled = !can;
  }
  showEmpty("callbacks", list.length === 0);
  document.getElementById("callbacks-count").textContent = String(list.length);
}

function renderScreening(snap, lang) {
  const s = snap.screening || {};
  const recognizers = s.recognizers ? `${s.recognizers.busy} / ${s.recognizers.size}` : DASH;
  const items = [
    ["running", s.running ? t("value.True") : t("value.False")],
    ["sessions", (s.sessions || []).length],
    ["rtp_ports", (s.rtp_ports_in_use || []).length],
    ["recognizers", recognizers],
  ];
  patch(document.getElementById("screening"), lang + JSON.stringify(items), () =>
    items.map(([k, v]) => `<dt>${esc(t(`scr.${k}`))}</dt><dd data-screening="${k}">${esc(v)}</dd>`).join(""),
  );
}

/** Show the panel of each part the snapshot holds; hide those this role is not given. */
function showParts(snap) {
  const parts = { "kpi-panel": "kpis", "charts-panel": "kpis", "response-panel": "kpis", "waiting-panel": "waiting",
    "calls-panel": "calls", "screening-panel": "screening" };
  for (const [cls, part] of Object.entries(parts)) document.querySelector(`.${cls}`).hidden = !(part in snap);
}

/** Draw the wallboard and the callback list from a snapshot. ctx: {lang, busy, cbChoice}. */
export function renderWallboard(snap, ctx) {
  showParts(snap);
  if ("service_level" in snap) renderServiceLevel(snap, ctx.lang);
  if ("kpis" in snap) {
    renderKpis(snap, ctx.lang);
    drawHourChart(document.getElementById("chart-hour"), snap.kpis, snap.now, snap.timezone);
    drawAnswerChart(document.getElementById("chart-answer"), snap.kpis);
    renderResponse(snap, ctx.lang);
  }
  if ("waiting" in snap) renderWaiting(snap, ctx.lang);
  renderTakers(snap, ctx.lang);
  if ("calls" in snap) renderCalls(snap, ctx.lang);
  if ("screening" in snap) renderScreening(snap, ctx.lang);
  if ("callbacks" in snap) renderCallbacks(snap, ctx);
}

/** Forget everything drawn (after signing out), so the next user starts clean. */
export function clearViews() {
  for (const sel of ["#service-level", "#kpis", "#takers", "#waiting tbody", "#calls tbody", "#callbacks tbody", "#chart-hour", "#chart-answer", "#screening", "#my-status", "#my-call", "#response tbody", "#incident"]) {
    const el = document.querySelector(sel);
    el.innerHTML = "";
    meta.delete(el);
  }
}
