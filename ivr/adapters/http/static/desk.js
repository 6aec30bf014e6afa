/* desk.js: draws the call taker's desk: their status line and status buttons, and the
   call pop-up #my-call (offered / connected / last ended call) with its disposition,
   agency and leave buttons, and under it the caller's location (location.js) and the
   call's incident record (incident.js).
   Rules: only the buttons that fit the declared status are shown; a button whose request
   is in flight (ctx.busy) is disabled; an offered call gets the pulsing "PANGGILAN MASUK"
   banner (answering happens on the SIP phone: there is no answer button); the pop-up's
   buttons are built once per call and updated in place, so a refresh never eats a click;
   every server string is escaped. */

import { DASH, badge, caller, chip, dateTime, esc, flagBadges, timeHMS } from "./format.js";
import { t, tv } from "./i18n.js";
import { patch, ticker } from "./views.js";
import { renderIncident } from "./incident.js";
import { renderLocation } from "./location.js";

const $ = (id) => document.getElementById(id);

function show(id, visible, disabled = false) {
  const el = $(id);
  el.hidden = !visible;
  if ("disabled" in el) el.disabled = disabled;
}

function renderStatus(me, snap, ctx) {
  const el = $("my-status");
  el.dataset.declared = me ? me.declared : "";
  el.dataset.activity = me ? me.activity : "";
  patch(el, ctx.lang + JSON.stringify(me || null), () => {
    if (!me) return `<span class="me-name">${esc(snap.user.taker)}</span>`;
    const reason = me.declared === "paused" && me.pause_reason ? `: ${esc(tv("reason", me.pause_reason))}` : "";
    return `<span class="me-label">${esc(t("desk.my_status"))}</span>
      <span class="me-name">${esc(me.name || me.id)} <small>${esc(me.id)}</small></span>
      <span class="chip declared-${esc(me.declared)}">${esc(tv("declared", me.declared))}${reason}</span>
      <span class="chip activity-${esc(me.activity)}">${esc(tv("activity", me.activity))}</span>
      <span class="me-time">${ticker(me.activity_since)}</span>
      ${me.reachable ? "" : `<span class="unreachable-badge">${esc(t("taker.unreachable"))}</span>`}`;
  });
}

function renderButtons(me, snap, ctx) {
  const declared = me ? me.declared : "logged-out";
  const busy = (what) => ctx.busy.has(`taker:${what}`);
  show("login", declared === "logged-out", busy("login"));
  show("pause", declared === "available", busy("pause"));
  show("pause-reason", declared === "available", busy("pause"));
  show("pause-reason-label", declared === "available");
  show("unpause", declared === "paused", busy("unpause"));
  show("logout", declared === "available" || declared === "paused", busy("logout"));

  const select = $("pause-reason");
  const reasons = snap.pause_reasons || [];
  patch(select, ctx.lang + JSON.stringify(reasons), () =>
    reasons.map((r) => `<option value="${esc(r)}">${esc(tv("reason", r))}</option>`).join(""),
  );
  if (ctx.pauseReason && reasons.includes(ctx.pauseReason)) select.value = ctx.pauseReason;
}

function infoHTML(call) {
  const features = Object.entries(call.features || {});
  const flags = flagBadges(call.flags, "");
  const cues = call.cues || [];
  return `<h3>${esc(t("call.flags"))}</h3><p>${flags || DASH}</p>
    <h3>${esc(t("call.cues"))}</h3>
    ${cues.length ? `<ul class="cues">${cues.map((c) => `<li>${esc(c)}</li>`).join("")}</ul>` : `<p>${DASH}</p>`}
    <h3>${esc(t("call.features"))}</h3>
    ${features.length
      ? `<dl class="features">${features.map(([k, v]) => `<dt>${esc(tv("feature", k))}</dt><dd>${esc(tv("value", v))}</dd>`).join("")}</dl>`
      : `<p>${DASH}</p>`}
    ${call.transcript ? `<h3>${esc(t("call.transcript"))}</h3><blockquote class="transcript">${esc(call.transcript)}</blockquote>` : ""}`;
}

function callerHTML(call, tz) {
  const rep = call.reputation || {};
  const history = [...(call.history || [])].sort((a, b) => (b.arrived_at || 0) - (a.arrived_at || 0));
  const items = history
    .map((h) => `<li><time>${esc(dateTime(h.arrived_at, tz))}</time>
      <span>${esc(tv("outcome", h.outcome) || DASH)}</span> ${badge("verdict", h.verdict, "small")}
      ${h.disposition ? badge("disposition", h.disposition, "small") : ""}</li>`)
    .join("");
  const reports = Number(rep.prank_reports || 0);
  return `<h3>${esc(t("call.reputation"))}</h3>
    <dl class="features reputation">
      <dt>${esc(t("call.prank_reports"))}</dt><dd class="${reports > 0 ? "warn" : ""}">${reports}</dd>
      <dt>${esc(t("call.blocked_until"))}</dt>
      <dd class="${rep.blocked_until ? "warn" : ""}">${rep.blocked_until ? esc(dateTime(rep.blocked_until, tz)) : esc(t("call.not_blocked"))}</dd>
    </dl>
    <h3>${esc(t("call.history"))}</h3>
    ${items ? `<ol class="history">${items}</ol>` : `<p>${esc(t("call.no_history"))}</p>`}`;
}

function headHTML(call, tz) {
  const offered = call.phase === "offered" && !call.ended;
  const running = !call.ended ? ticker(call.answered_at ?? call.arrived_at, offered ? 10 : 0, offered ? 20 : 0) : "";
  return `<div class="call-kind">${esc(call.ended ? t("call.ended") : t("call.current"))}</div>
    <div class="caller-number">${caller(call.caller)}</div>
    <div class="call-badges">${badge("verdict", call.verdict, "large")} ${badge("level", call.level)}
      ${call.ended ? `<span class="chip call-ended">${esc(t("call.ended_short"))}</span>` : chip("phase", call.phase)}</div>
    <div class="call-times">${esc(t("call.arrived"))} ${esc(timeHMS(call.arrived_at, tz))}
      ${call.answered_at ? ` · ${esc(t("call.answered"))} ${esc(timeHMS(call.answered_at, tz))}` : ""}
      <span class="call-running">${running}</span></div>
    ${locationLine(call.location)}`;
}

// The caller's latest location in the call's head, above the fold: the taker's first
// question is "where are you?"; the map and every fix are in #my-location, linked.
function locationLine(fix) {
  if (!fix) return `<div class="call-location none">${esc(t("loc.title"))}: ${esc(t("loc.none"))}</div>`;
  const where = `${Number(fix.lat).toFixed(5)}, ${Number(fix.lon).toFixed(5)}`;
  const accuracy = fix.accuracy_m ? ` ${t("loc.accuracy_value", { m: Math.round(fix.accuracy_m) })}` : "";
  const address = fix.address ? ` · ${fix.address}` : "";
  return `<div class="call-location">${esc(t("loc.title"))}:
    <a href="#my-location">${esc(where + accuracy + address)}</a></div>`;
}

// The frame of the pop-up: built once per call (and language); the buttons in it stay the
// same elements for the whole call (a click is never lost to a refresh), updated in place.
function frameHTML(snap) {
  const dispositions = (snap.dispositions || [])
    .map((d) => {
      const tone = d === "genuine" ? "genuine" : d === "information" ? "info" : d;
      return `<button type="button" class="disp tone-${esc(tone)}" data-disposition="${esc(d)}" aria-pressed="false">${esc(tv("disposition", d))}</button>`;
    })
    .join("");
  const agencies = (snap.agencies || [])
    .map((a) => `<li><button type="button" data-agency="${esc(a.id)}">${esc(a.name || a.id)}</button>
      <span class="leg-status" data-leg-of="${esc(a.id)}"></span></li>`)
    .join("");
  return `<div class="incoming-banner" role="alert" hidden><span class="incoming-title">${esc(t("call.incoming"))}</span>
      <span class="incoming-hint">${esc(t("call.incoming_hint"))}</span></div>
    <div class="call-head"></div>
    <div class="call-body">
      <div class="call-col mc-info"></div>
      <div class="call-col">
        <h3>${esc(t("call.disposition"))}</h3><div class="btn-row">${dispositions}</div>
        <h3>${esc(t("call.agencies"))}</h3><ul class="agency-list">${agencies}</ul><ul class="agency-list mc-other-legs"></ul>
        <button type="button" id="leave" class="leave">${esc(t("call.leave"))}</button>
      </div>
      <div class="call-col mc-caller"></div>
    </div>`;
}

function updateActions(el, call, snap, ctx) {
  const live = !call.ended;
  const legs = call.agencies || [];
  const statusOf = new Map(legs.map((l) => [l.agency, l.status]));
  const agencyOpen = live && (call.phase === "connected" || call.phase === "with_agency");
  const canLeave = live && call.phase === "connected" && legs.some((l) => l.status === "joined");
  const dispBusy = ctx.busy.has(`disp:${call.call_id}`);
  for (const b of el.querySelectorAll("button[data-disposition]")) {
    b.setAttribute("aria-pressed", String(call.disposition === b.dataset.disposition));
    b.disabled = dispBusy;
  }
  for (const b of el.querySelectorAll("button[data-agency]")) {
    b.disabled = !agencyOpen || ctx.busy.has(`agency:${call.call_id}:${b.dataset.agency}`);
  }
  for (const span of el.querySelectorAll("[data-leg-of]")) {
    const status = statusOf.get(span.dataset.legOf);
    patch(span, status || "", () => (status ? chip("leg", status) : ""));
  }
  const known = new Set((snap.agencies || []).map((a) => a.id));
  const other = legs.filter((l) => !known.has(l.agency));
  patch(el.querySelector(".mc-other-legs"), JSON.stringify(other), () =>
    other.map((l) => `<li><span>${esc(l.agency)}</span> ${chip("leg", l.status)}</li>`).join(""),
  );
  el.querySelector("#leave").disabled = !canLeave || ctx.busy.has(`leave:${call.call_id}`);
}

function renderMyCall(snap, ctx) {
  const call = snap.my_call;
  const el = $("my-call");
  $("no-call").hidden = Boolean(call);
  if (!call) {
    el.hidden = true;
    Object.assign(el.dataset, { call: "", phase: "", ended: "false" });
    el.classList.remove("offered", "ended");
    return;
  }
  const offered = call.phase === "offered" && !call.ended;
  const tz = snap.timezone;
  const frameSig = [call.call_id, ctx.lang, JSON.stringify(snap.dispositions), JSON.stringify(snap.agencies)].join("|");
  patch(el, frameSig, () => frameHTML(snap));
  Object.assign(el.dataset, { call: call.call_id, phase: call.phase, ended: call.ended ? "true" : "false" });
  el.classList.toggle("offered", offered);
  el.classList.toggle("ended", Boolean(call.ended));
  el.querySelector(".incoming-banner").hidden = !offered;
  const head = [call.caller, call.verdict, call.level, call.phase, call.ended, call.arrived_at, call.answered_at, tz, call.location, ctx.lang];
  patch(el.querySelector(".call-head"), JSON.stringify(head), () => headHTML(call, tz));
  patch(el.querySelector(".mc-info"), JSON.stringify([call.flags, call.cues, call.features, call.transcript]), () => infoHTML(call));
  patch(el.querySelector(".mc-caller"), JSON.stringify([call.history, call.reputation, tz]), () => callerHTML(call, tz));
  updateActions(el, call, snap, ctx);
  el.hidden = false;
}

/** Draw the desk of the signed-in call taker (snap.user.taker). */
export function renderDesk(snap, ctx) {
  const user = snap.user || {};
  if (!user.taker) return;
  const me = (snap.takers || []).find((a) => a.id === user.taker);
  renderStatus(me, snap, ctx);
  renderButtons(me, snap, ctx);
  renderMyCall(snap, ctx);
  renderIncident(snap, ctx);
  renderLocation(snap, ctx);
}

/** Is a call being offered to this user right now? */
export function isOffered(snap) {
  return Boolean(snap && snap.my_call && snap.my_call.phase === "offered" && !snap.my_call.ended);
}
