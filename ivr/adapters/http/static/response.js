/* response.js: the figures the city reports, on the wallboard: tiles for Kendari's two
   targets (an agency on scene within 7 minutes of the call; help within 3 minutes of the
   answer for priority cases), the help times' medians and the callers located, and the
   table #response of answer -> agency connected and call -> agency on scene, p50 / p90,
   for all calls, per incident type and per agency.
   Rules: the numbers are /api/v1/kpis' (snapshot.kpis), never computed here; a group with
   no call in either figure is left out of the table; times as m:ss; a missing figure "–".
   Hooks: [data-kpi="on_scene_within_7_min"] [data-kpi="priority_help_within_3_min"]
   [data-kpi="answer_to_agency"] [data-kpi="call_to_agency_arrived"] [data-kpi="located_share"]
   #response tr[data-row="all" | "type:<type>" | "agency:<agency>"] */

import { DASH, clockDuration, decimal, esc, percent } from "./format.js";
import { t, tv } from "./i18n.js";
import { syncChildren } from "./views.js";

const CONNECTED = "answer_to_agency_seconds";
const ON_SCENE = "call_to_agency_arrived_seconds";
const TYPES = ["fire", "traffic", "medical", "disaster", "crime", "other"];

const minutes = (seconds) => (seconds == null ? DASH : clockDuration(seconds));
const p90 = (figure) => `p90 ${minutes(figure && figure.p90)} · n ${(figure && figure.count) || 0}`;

/** Tiles for views.js' KPI_ORDER: [name, value(kpis), kind, sub(kpis)]; kind "clock": m:ss. */
export const CITY_TILES = [
  ["on_scene_within_7_min", (k) => percent(k.on_scene_within_7_min), false, (k) => p90(k[ON_SCENE])],
  ["priority_help_within_3_min", (k) => percent(k.priority_help_within_3_min)],
  ["answer_to_agency", (k) => (k[CONNECTED] ? k[CONNECTED].p50 : null), "clock", (k) => p90(k[CONNECTED])],
  ["call_to_agency_arrived", (k) => (k[ON_SCENE] ? k[ON_SCENE].p50 : null), "clock", (k) => p90(k[ON_SCENE])],
  ["located_share", (k) => percent(k.located_share), false,
    (k) => (k.location_median_accuracy_m == null ? DASH : t("kpi.median_accuracy", { m: decimal(k.location_median_accuracy_m) }))],
];

function groups(k) {
  const connected = k[CONNECTED] || {};
  const onScene = k[ON_SCENE] || {};
  const rows = [{ key: "all", label: t("resp.all"), a: connected, b: onScene }];
  for (const type of TYPES) {
    rows.push({ key: `type:${type}`, label: tv("incident_type", type),
      a: (connected.by_type || {})[type], b: (onScene.by_type || {})[type] });
  }
  const agencies = new Set([...Object.keys(connected.by_agency || {}), ...Object.keys(onScene.by_agency || {})]);
  for (const agency of [...agencies].sort()) {
    rows.push({ key: `agency:${agency}`, label: agency,
      a: (connected.by_agency || {})[agency], b: (onScene.by_agency || {})[agency] });
  }
  return rows.filter((r) => ((r.a && r.a.count) || 0) + ((r.b && r.b.count) || 0) > 0);
}

function cell(figure) {
  if (!figure || !figure.count) return DASH;
  return `<b>${esc(minutes(figure.p50))}</b> / ${esc(minutes(figure.p90))} <small>(${esc(figure.count)})</small>`;
}

/** Draw the agencies' response table from the day's key figures. */
export function renderResponse(snap, lang) {
  const rows = groups(snap.kpis || {});
  syncChildren(
    document.querySelector("#response tbody"),
    rows,
    (r) => r.key,
    (r) => `${lang}|${JSON.stringify(r)}`,
    (r) => `<tr data-row="${esc(r.key)}"><td>${esc(r.label)}</td>
      <td class="num" data-figure="connected">${cell(r.a)}</td><td class="num" data-figure="on-scene">${cell(r.b)}</td></tr>`,
  );
  const note = document.querySelector('[data-empty-for="response"]');
  if (note) note.hidden = rows.length > 0;
}
