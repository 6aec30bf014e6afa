/* format.js: small pure helpers shared by the views: HTML escaping, durations, clock
   times in the centre's time zone, numbers, and the text+colour badges.
   Rules: every server string goes through esc() before it reaches innerHTML; times are
   epoch seconds shown in the snapshot's time zone (Intl.DateTimeFormat with timeZone),
   24-hour "HH:MM" whatever the language; a missing number is shown as "–". */

import { DICT, getLang, t, tv } from "./i18n.js";

export const DASH = "\u2013";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Seconds as m:ss (h:mm:ss from one hour on); negative clamps to 0. */
export function clockDuration(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

const formatters = new Map();
function formatter(timeZone, options) {
  const key = `${timeZone}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: timeZone || undefined, hourCycle: "h23" });
    } catch {
      f = new Intl.DateTimeFormat("en-GB", { ...options, hourCycle: "h23" }); // unknown zone: browser's own
    }
    formatters.set(key, f);
  }
  return f;
}

function parts(epoch, timeZone, options) {
  const out = {};
  for (const p of formatter(timeZone, options).formatToParts(new Date(epoch * 1000))) out[p.type] = p.value;
  return out;
}

const HM = { hour: "2-digit", minute: "2-digit" };
const HMS = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
const DMYHM = { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" };

export function timeHM(epoch, timeZone) {
  if (epoch == null) return DASH;
  const p = parts(epoch, timeZone, HM);
  return `${p.hour}:${p.minute}`;
}

export function timeHMS(epoch, timeZone) {
  if (epoch == null) return DASH;
  const p = parts(epoch, timeZone, HMS);
  return `${p.hour}:${p.minute}:${p.second}`;
}

/** "dd/mm/yyyy HH:MM", the Indonesian order, in the centre's zone. */
export function dateTime(epoch, timeZone) {
  if (epoch == null) return DASH;
  const p = parts(epoch, timeZone, DMYHM);
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
}

export function hourOf(epoch, timeZone) {
  return Number(parts(epoch, timeZone, { hour: "2-digit" }).hour) % 24;
}

/** A share 0..1 as "85%"; null as "–". */
export function percent(share) {
  return share == null || Number.isNaN(Number(share)) ? DASH : `${Math.round(Number(share) * 100)}%`;
}

/** A number with the language's decimal mark, at most one decimal; null as "–". */
export function decimal(value) {
  if (value == null || Number.isNaN(Number(value))) return DASH;
  const locale = getLang() === "en" ? "en-GB" : "id-ID";
  const digits = Math.abs(Number(value)) < 10 ? 1 : 0;
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(Number(value));
}

// The colour tone of a verdict, level, flag or disposition: one palette for all of them.
const TONES = {
  emergency: "emergency",
  "silent-emergency": "silent-emergency",
  normal: "normal",
  silent: "silent",
  "silent-pending": "silent-pending",
  prank: "prank",
  blocked: "blocked",
  low: "low",
  genuine: "genuine",
  information: "info",
};

/** A caller number, or "number withheld" when the network gave none. */
export function caller(number) {
  return number ? esc(number) : `<span class="withheld">${esc(t("caller.withheld"))}</span>`;
}

/** A badge: always the text label, the colour only as a second cue. */
export function badge(group, value, extra = "") {
  const tone = TONES[value] || (value ? "other" : "none");
  const label = tv(group, value) || DASH;
  return `<span class="badge tone-${tone} ${extra}" data-value="${esc(value)}">${esc(label)}</span>`;
}

/** A neutral state chip (phase, activity, leg or callback status). */
export function chip(group, value) {
  return `<span class="chip ${esc(group)}-${esc(value)}">${esc(tv(group, value) || DASH)}</span>`;
}

/** Flags other than the verdict itself, as small badges. */
export function flagBadges(flags, verdict) {
  return (flags || [])
    .filter((f) => f !== verdict)
    .map((f) => (`flag.${f}` in DICT ? badge("flag", f, "small") : badge("verdict", f, "small")))
    .join(" ");
}
