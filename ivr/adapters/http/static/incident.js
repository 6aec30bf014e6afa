/* incident.js: the incident record on the call taker's desk (#incident), for the call in
   the pop-up (live, or the last one ended): type, address, kelurahan, notes, the agencies
   sent, and each agency's arrival on scene.
   Rules: the form is built once per call (and language), then only its values follow the
   snapshot, and never while the taker is editing it: a field changed since the last save
   is not overwritten until the save went through; saving is a PUT of the whole record,
   an arrival a POST (now, or the time typed, read in the centre's time zone, on the call's
   day or the day after); an arrival needs the incident saved first; agencies that joined
   the call are sent by definition (their box is ticked and fixed); the server's refusals
   come back as toasts (ctx.send, dashboard.js); every server string is escaped.
   Hooks: #incident[data-call][data-saved] #incident-type #incident-address
   #incident-kelurahan #incident-notes #incident-save #incident-updated
   #incident-agencies li[data-agency] input[data-sent] .arrived-time .arrived-now .arrived-at */

import { DASH, esc, timeHM } from "./format.js";
import { t, tv } from "./i18n.js";
import { patch } from "./views.js";

export const TYPES = ["fire", "traffic", "medical", "disaster", "crime", "other"];
const $ = (id) => document.getElementById(id);
// dirty: a field changed since the last save; awaiting: saved, until the snapshot shows it
const form = { call: "", dirty: false, awaiting: false, before: null, snap: null, ctx: null };

/** Seconds the zone is ahead of UTC at that moment. */
function offsetOf(epoch, timeZone) {
  const fmt = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric",
    day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
  const p = Object.fromEntries(fmt.formatToParts(new Date(Math.floor(epoch) * 1000)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) / 1000 - Math.floor(epoch);
}

/** The epoch of "HH:MM" in timeZone on the day of `since` (or the day after, past midnight). */
export function epochAt(hhmm, since, timeZone) {
  const [h, m] = hhmm.split(":").map(Number);
  const offset = offsetOf(since, timeZone);
  const day = Math.floor((since + offset) / 86400) * 86400;
  const at = day + h * 3600 + m * 60 - offset;
  return at < since - 60 ? at + 86400 : at;
}

function frameHTML(snap) {
  const types = TYPES.map((k) => `<option value="${k}">${esc(tv("incident_type", k))}</option>`).join("");
  const agencies = (snap.agencies || [])
    .map((a) => `<li data-agency="${esc(a.id)}">
      <label class="sent"><input type="checkbox" data-sent="${esc(a.id)}"> ${esc(a.name || a.id)}</label>
      <span class="agency-times"></span>
      <input type="time" class="arrived-time" step="60" aria-label="${esc(t("inc.arrive_time"))}" title="${esc(t("inc.arrive_time"))}">
      <button type="button" class="arrived-now" data-arrive="${esc(a.id)}">${esc(t("inc.arrive"))}</button></li>`)
    .join("");
  return `<h2>${esc(t("sec.incident"))} <small id="incident-updated"></small></h2>
    <form id="incident-form" class="incident-form" autocomplete="off">
      <label for="incident-type">${esc(t("inc.type"))}</label>
      <select id="incident-type" required><option value="">${esc(t("inc.choose"))}</option>${types}</select>
      <label for="incident-address">${esc(t("inc.address"))}</label>
      <input id="incident-address" maxlength="200" spellcheck="false">
      <label for="incident-kelurahan">${esc(t("inc.kelurahan"))}</label>
      <input id="incident-kelurahan" maxlength="60" spellcheck="false">
      <label for="incident-notes">${esc(t("inc.notes"))}</label>
      <textarea id="incident-notes" rows="3" maxlength="2000"></textarea>
      <h3>${esc(t("inc.agencies"))}</h3>
      <ul id="incident-agencies" class="agency-list incident-agencies">${agencies}</ul>
      <button type="submit" id="incident-save" class="primary">${esc(t("inc.save"))}</button>
    </form>`;
}

/** Put the server's values in the fields, unless the taker is editing them. */
function fill(incident, times) {
  if (form.dirty) return;
  const values = {
    "incident-type": incident ? incident.type : "",
    "incident-address": incident ? incident.address : "",
    "incident-kelurahan": incident ? incident.kelurahan : "",
    "incident-notes": incident ? incident.notes : "",
  };
  for (const [id, value] of Object.entries(values)) if ($(id).value !== value) $(id).value = value;
  const sent = new Set(times.map((a) => a.agency));
  for (const box of document.querySelectorAll("#incident [data-sent]")) box.checked = sent.has(box.dataset.sent);
}

function updateAgencies(call, snap, ctx) {
  const times = new Map((call.agency_times || []).map((a) => [a.agency, a]));
  const listed = new Set(((call.incident && call.incident.agencies) || []).map((a) => a.agency));
  for (const li of document.querySelectorAll("#incident-agencies li[data-agency]")) {
    const name = li.dataset.agency;
    const a = times.get(name) || {};
    const joined = a.joined_at != null;
    const box = li.querySelector("[data-sent]");
    if (joined) box.checked = true;
    box.disabled = joined;
    const tz = snap.timezone;
    patch(li.querySelector(".agency-times"), ctx.lang + JSON.stringify(a), () =>
      [joined ? `<span class="chip leg-joined">${esc(t("inc.joined", { time: timeHM(a.joined_at, tz) }))}</span>` : "",
        a.arrived_at != null ? `<span class="chip arrived-at">${esc(t("inc.arrived", { time: timeHM(a.arrived_at, tz) }))}</span>` : ""]
        .join(" "),
    );
    const open = Boolean(call.incident) && (joined || listed.has(name));
    const button = li.querySelector(".arrived-now");
    button.disabled = !open || ctx.busy.has(`arrive:${call.call_id}:${name}`);
    button.title = call.incident ? "" : t("inc.save_first");
    li.querySelector(".arrived-time").disabled = !open;
  }
}

/** Draw the incident form of the desk's call (snap.my_call); hidden without one. */
export function renderIncident(snap, ctx) {
  const el = $("incident");
  const call = snap.my_call;
  form.snap = snap;
  form.ctx = ctx;
  if (!call) {
    el.hidden = true;
    el.dataset.call = "";
    form.call = "";
    return;
  }
  if (form.call !== call.call_id) form.dirty = form.awaiting = false;
  form.call = call.call_id;
  const inc = call.incident;
  if (form.awaiting && inc && inc.updated_at !== form.before) form.dirty = form.awaiting = false;
  patch(el, [call.call_id, ctx.lang, JSON.stringify(snap.agencies)].join("|"), () => frameHTML(snap));
  el.dataset.call = call.call_id;
  el.dataset.saved = inc ? "true" : "false";
  $("incident-updated").textContent = inc
    ? t("inc.saved", { time: timeHM(inc.updated_at, snap.timezone), who: inc.updated_by || DASH })
    : t("inc.not_saved");
  fill(inc, call.agency_times || []);
  updateAgencies(call, snap, ctx);
  $("incident-save").disabled = ctx.busy.has(`incident:${call.call_id}`);
  el.hidden = false;
}

const enc = encodeURIComponent;

async function save(event) {
  event.preventDefault();
  const call = form.snap && form.snap.my_call;
  if (!call) return;
  const type = $("incident-type").value;
  if (!type) {
    form.ctx.toast(t("inc.type_needed"), "error");
    return;
  }
  const joined = new Set((call.agency_times || []).filter((a) => a.joined_at != null).map((a) => a.agency));
  const agencies = [...document.querySelectorAll("#incident [data-sent]")]
    .filter((box) => box.checked && !joined.has(box.dataset.sent))
    .map((box) => box.dataset.sent);
  const body = { type, address: $("incident-address").value, kelurahan: $("incident-kelurahan").value,
    notes: $("incident-notes").value, agencies };
  const before = call.incident ? call.incident.updated_at : null;
  const ok = await form.ctx.send("PUT", `/api/v1/calls/${enc(call.call_id)}/incident`, body,
    `incident:${call.call_id}`, t("ok.incident"), $("incident-save"));
  if (ok && form.call === call.call_id && form.dirty) Object.assign(form, { awaiting: true, before });
}

function arrive(button) {
  const call = form.snap && form.snap.my_call;
  if (!call) return;
  const li = button.closest("li[data-agency]");
  const agency = li.dataset.agency;
  const typed = li.querySelector(".arrived-time").value;
  const body = { agency };
  if (typed) body.arrived_at = epochAt(typed, call.arrived_at, form.snap.timezone);
  const label = li.querySelector("label").textContent.trim();
  form.ctx.send("POST", `/api/v1/calls/${enc(call.call_id)}/incident/arrivals`, body,
    `arrive:${call.call_id}:${agency}`, t("ok.arrival", { what: label }), button)
    .then((ok) => { if (ok) li.querySelector(".arrived-time").value = ""; });
}

const root = $("incident");
root.addEventListener("submit", save);
function edited() {
  form.dirty = true;
  form.awaiting = false; // typed again after a save: what is typed now stays
}
root.addEventListener("input", (event) => {
  if (!event.target.classList.contains("arrived-time")) edited();
});
root.addEventListener("change", (event) => {
  if (event.target.matches("[data-sent], #incident-type")) edited();
});
root.addEventListener("click", (event) => {
  const button = event.target.closest("button.arrived-now");
  if (button && !button.disabled) arrive(button);
});
