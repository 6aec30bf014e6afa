/* charts.js: the two wallboard bar charts, drawn as inline SVG by this code.
   Rules: the drawing size comes from the <svg viewBox>; every bar carries its value as
   text (readable from a distance, not colour alone); axes are labelled; an svg is
   redrawn only when its data or the language changed (cheap on mid-range PCs). */

import { esc, hourOf } from "./format.js";
import { t } from "./i18n.js";

const drawn = new WeakMap(); // svg -> signature of what is drawn

function niceStep(raw) {
  if (raw <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/**
 * Draw a bar chart into svg.
 * bars: [{label, value, hot}] (hot: highlighted bar); title: accessible name;
 * xTitle / yTitle: axis titles.
 */
export function barChart(svg, { bars, title, xTitle, yTitle }) {
  const sig = JSON.stringify([bars, title, xTitle, yTitle]);
  if (drawn.get(svg) === sig && svg.firstChild) return;
  drawn.set(svg, sig);

  const box = svg.viewBox.baseVal;
  const W = box && box.width ? box.width : 600;
  const H = box && box.height ? box.height : 250;
  const left = 52, right = 8, top = 26, bottom = 54;
  const plotW = W - left - right;
  const plotH = H - top - bottom;

  const max = Math.max(0, ...bars.map((b) => Number(b.value) || 0));
  const step = niceStep(max / 4);
  const ceiling = Math.max(step, Math.ceil(max / step) * step);
  const y = (v) => top + plotH - (v / ceiling) * plotH;

  const out = [`<title>${esc(title)}</title>`];
  for (let v = 0; v <= ceiling + 1e-9; v += step) {
    out.push(
      `<line class="grid" x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}"/>`,
      `<text class="tick-label" x="${left - 8}" y="${y(v) + 5}" text-anchor="end">${v}</text>`,
    );
  }
  const band = plotW / Math.max(1, bars.length);
  const barW = Math.max(4, band * 0.72);
  bars.forEach((b, i) => {
    const v = Number(b.value) || 0;
    const x = left + i * band + (band - barW) / 2;
    const cx = x + barW / 2;
    const h = Math.max(0, top + plotH - y(v));
    const cls = b.hot ? "bar hot" : "bar";
    out.push(`<rect class="${cls}" x="${x}" y="${y(v)}" width="${barW}" height="${h}"><title>${esc(b.label)}: ${v}</title></rect>`);
    if (v > 0) out.push(`<text class="bar-value" x="${cx}" y="${y(v) - 6}" text-anchor="middle">${v}</text>`);
    out.push(`<text class="x-label${b.hot ? " hot" : ""}" x="${cx}" y="${top + plotH + 20}" text-anchor="middle">${esc(b.label)}</text>`);
  });
  out.push(
    `<line class="axis" x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}"/>`,
    `<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}"/>`,
    `<text class="axis-title" x="${left + plotW / 2}" y="${H - 6}" text-anchor="middle">${esc(xTitle)}</text>`,
    `<text class="axis-title" transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yTitle)}</text>`,
  );
  if (!bars.length) out.push(`<text class="no-data" x="${W / 2}" y="${H / 2}" text-anchor="middle">\u2013</text>`);
  svg.setAttribute("aria-label", title);
  svg.innerHTML = out.join("");
}

/** Calls per local hour (24 bars, the current hour highlighted). */
export function drawHourChart(svg, kpis, now, timeZone) {
  const series = kpis && Array.isArray(kpis.calls_per_hour) ? kpis.calls_per_hour : [];
  const current = now ? hourOf(now, timeZone) : -1;
  const bars = series.slice(0, 24).map((value, hour) => ({
    label: String(hour).padStart(2, "0"),
    value,
    hot: hour === current,
  }));
  barChart(svg, { bars, title: t("chart.hour"), xTitle: t("axis.hour"), yTitle: t("axis.calls") });
}

/** Answer-time distribution, in the server's key order ("<=5", ..., ">60"). */
export function drawAnswerChart(svg, kpis) {
  const dist = (kpis && kpis.answer_time_distribution) || {};
  const bars = Object.entries(dist).map(([key, value]) => ({
    label: key.replace("<=", "\u2264"),
    value,
    hot: false,
  }));
  barChart(svg, { bars, title: t("chart.answer"), xTitle: t("axis.seconds"), yTitle: t("axis.calls") });
}
