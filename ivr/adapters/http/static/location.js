/* location.js: the caller's location on the call taker's desk (#my-location), for the call
   in the pop-up: the latest fix on a map (Leaflet, vendored in vendor/leaflet/) with its
   accuracy circle, its coordinates, accuracy, age, source and method, links that work
   without any map (OpenStreetMap, geo:), every fix received, and a form to place the
   caller by hand (what they say, a landmark found on a map).
   Rules: the map is made once and follows the latest fix (marker and circle moved, the view
   fitted only when the fix changes, so the taker's panning stays); without a tile server
   (snap.map.tiles empty) the map shows the marker and circle on a blank ground and the
   text and links carry the location; the age ticks with the page's 1 s tick (views.js
   ticker); the form posts through ctx.send (dashboard.js) and is never overwritten while
   being edited; every server string is escaped.
   Hooks: #my-location[data-call][data-located] #location-map (.location-marker,
   .location-circle) #location-coords #location-accuracy #location-age #location-source
   #location-address #location-osm #location-geo #location-fixes #location-form
   #location-lat #location-lon #location-accuracy-m #location-address-input #location-save */

import { circle, circleMarker, map as createMap, tileLayer } from "./vendor/leaflet/leaflet-src.esm.js";
import { DASH, esc, timeHMS } from "./format.js";
import { t, tv } from "./i18n.js";
import { patch, ticker } from "./views.js";

const $ = (id) => document.getElementById(id);
const KENDARI = [-3.9985, 122.5127]; // where the map starts before any fix
const view = { map: null, marker: null, circle: null, tiles: null, tilesUrl: null, fixSig: "", ctx: null, call: "" };

function ensureMap(snap) {
  const settings = snap.map || {};
  if (!view.map) {
    view.map = createMap($("location-map"), { zoomControl: true, attributionControl: true }).setView(KENDARI, 13);
    view.circle = circle(KENDARI, { radius: 1, className: "location-circle", weight: 2 });
    view.marker = circleMarker(KENDARI, { radius: 7, className: "location-marker", weight: 3, fillOpacity: 0.9 });
  }
  const url = settings.tiles || "";
  if (url !== view.tilesUrl) {
    if (view.tiles) view.tiles.remove();
    view.tiles = url ? tileLayer(url, { maxZoom: 19, attribution: esc(settings.attribution || "") }).addTo(view.map) : null;
    view.tilesUrl = url;
  }
  $("location-no-tiles").hidden = Boolean(url);
}

function coords(fix) {
  return `${Number(fix.lat).toFixed(5)}, ${Number(fix.lon).toFixed(5)}`;
}

function showFix(fix, snap) {
  ensureMap(snap);
  const here = [fix.lat, fix.lon];
  const sig = JSON.stringify([fix.lat, fix.lon, fix.accuracy_m, fix.fixed_at, fix.received_at]);
  view.marker.setLatLng(here).addTo(view.map);
  if (fix.accuracy_m) view.circle.setLatLng(here).setRadius(fix.accuracy_m).addTo(view.map);
  else view.circle.remove();
  view.map.invalidateSize(false); // the panel may just have been shown
  if (sig !== view.fixSig) {
    view.fixSig = sig;
    if (fix.accuracy_m) view.map.fitBounds(view.circle.getBounds(), { maxZoom: 18, padding: [20, 20] });
    else view.map.setView(here, 16);
  }
  const tz = snap.timezone;
  patch($("location-coords"), coords(fix), () => esc(coords(fix)));
  const accuracy = fix.accuracy_m ? t("loc.accuracy_value", { m: Math.round(fix.accuracy_m) }) : t("loc.unknown");
  patch($("location-accuracy"), accuracy, () => esc(accuracy));
  patch($("location-age"), String(fix.fixed_at), () => `${ticker(fix.fixed_at, 60, 300)} <small>(${esc(timeHMS(fix.fixed_at, tz))})</small>`);
  const source = `${tv("loc_source", fix.source)} · ${tv("loc_method", fix.method)} · ${fix.sender}`;
  patch($("location-source"), source, () => esc(source));
  patch($("location-address"), fix.address || "", () => esc(fix.address || DASH));
  $("location-osm").href = `https://www.openstreetmap.org/?mlat=${fix.lat}&mlon=${fix.lon}#map=17/${fix.lat}/${fix.lon}`;
  $("location-geo").href = `geo:${fix.lat},${fix.lon}${fix.accuracy_m ? `;u=${Math.round(fix.accuracy_m)}` : ""}`;
}

function renderFixes(fixes, tz, lang) {
  const sig = lang + JSON.stringify(fixes);
  patch($("location-fixes"), sig, () =>
    [...fixes]
      .reverse()
      .map((f) => `<li><time>${esc(timeHMS(f.fixed_at, tz))}</time> ${esc(coords(f))}
        ${f.accuracy_m ? esc(t("loc.accuracy_value", { m: Math.round(f.accuracy_m) })) : ""}
        <small>${esc(tv("loc_source", f.source))} · ${esc(tv("loc_method", f.method))}</small></li>`)
      .join(""),
  );
}

/** Draw the caller's location for the call in the desk's pop-up (none: the panel is hidden). */
export function renderLocation(snap, ctx) {
  view.ctx = ctx;
  const el = $("my-location");
  const call = snap.my_call;
  if (!call) {
    el.hidden = true;
    el.dataset.call = "";
    el.dataset.located = "false";
    return;
  }
  if (call.call_id !== view.call) {
    view.call = call.call_id;
    view.fixSig = "";
    $("location-form").reset();
  }
  const fix = call.location || null;
  el.dataset.call = call.call_id;
  el.dataset.located = String(Boolean(fix));
  el.hidden = false;
  $("location-found").hidden = !fix;
  $("location-none").hidden = Boolean(fix);
  $("location-save").disabled = ctx.busy.has(`loc:${call.call_id}`);
  if (fix) showFix(fix, snap);
  renderFixes(call.locations || [], snap.timezone, ctx.lang);
}

function readNumber(id) {
  const text = $(id).value.trim().replace(",", ".");
  return text === "" ? null : Number(text);
}

document.addEventListener("submit", (event) => {
  if (event.target.id !== "location-form") return;
  event.preventDefault();
  const ctx = view.ctx;
  const callId = $("my-location").dataset.call;
  if (!ctx || !callId) return;
  const lat = readNumber("location-lat");
  const lon = readNumber("location-lon");
  const accuracy = readNumber("location-accuracy-m");
  if (lat === null || lon === null || !Number.isFinite(lat) || !Number.isFinite(lon)) {
    ctx.toast(t("loc.bad_input"), "error");
    return;
  }
  const body = { lat, lon };
  if (accuracy !== null && Number.isFinite(accuracy)) body.accuracy_m = accuracy;
  const address = $("location-address-input").value.trim();
  if (address) body.address = address;
  const path = `/api/v1/calls/${encodeURIComponent(callId)}/location`;
  ctx.send("POST", path, body, `loc:${callId}`, t("ok.location"), $("location-save")).then((ok) => {
    if (ok) $("location-form").reset();
  });
});
