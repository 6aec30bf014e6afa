"""The load run's report: a Markdown table per path with ratios against native
app_queue measured in the same run, the targets of the issue marked met or not, the
control plane's own figures (priorities, screening, prank number, agencies), and PNG
charts next to it.

Rules: figures only from the run's results (nothing typed in); a path not run is left
out, a ratio without its native figure is "n/a"; charts are drawn headless (Agg).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.load_measure import percentile

if TYPE_CHECKING:
    from benchmarks.load import Scenario

NAMES = {"ari": "control plane (ARI)", "native": "native app_queue", "bare": "bare ARI path"}
BUSY_PCT = 90.0  # a machine this busy (all cores) counts as saturated in the report
SLOW_ANSWER_MS = 8.0  # an INVITE -> 200 OK slower than this counts as slow in the report
TARGET_RTT_OVER_NATIVE_MS = 5.0  # INVITE -> 200 OK p99 at most native's + this
TARGET_ASTERISK_RATIO = 1.2  # Asterisk CPU per call against native's
TARGET_CPU_RATIO = 1.6  # whole path (recording + screening) against native's
TARGET_LATE_P99_S = 0.3  # first verdict after the greeting's end
TARGET_SPEAKING_WAIT_RATIO = 0.6  # surge: speaking callers' wait p90 against native's (FCFS)
TARGET_AT_ONCE_OVER_PHONE_S = 0.5  # a taker free: INVITE -> answered at most the phone's delay + this


def per_call_ms(result: dict[str, Any], *keys: str) -> float:
    return 1000 * float(sum(result[k] for k in keys)) / max(1, result["calls"])


def per_call_second_ms(result: dict[str, Any], *keys: str) -> float:
    """CPU per second of a call (SIPp's mean call length); NaN without one."""
    seconds = result.get("call_s_mean", math.nan)
    return per_call_ms(result, *keys) / seconds if seconds > 0 else math.nan


def busy_share(busy_pct: list[float]) -> float:
    """Per cent of the samples in which the machine was at least BUSY_PCT busy; NaN without any."""
    return 100 * sum(pct >= BUSY_PCT for pct in busy_pct) / len(busy_pct) if busy_pct else math.nan


def slow_share(rtt_ms: list[float]) -> float:
    """Per cent of the answers slower than SLOW_ANSWER_MS."""
    return 100 * sum(ms > SLOW_ANSWER_MS for ms in rtt_ms) / max(1, len(rtt_ms))


def rows(result: dict[str, Any]) -> dict[str, float]:
    gave_up = max(0, result["calls"] - result["taken"] - result["failed"])
    return {
        "INVITE -> 200 OK p50 (ms)": percentile(result["rtt_ms"], 50),
        "INVITE -> 200 OK p99 (ms)": percentile(result["rtt_ms"], 99),
        # SIPp times in steps of a few ms: at 40/s a p99 is one or two steps; the mean and the
        # share of slow answers compare runs and paths more finely
        "INVITE -> 200 OK mean (ms)": sum(result["rtt_ms"]) / max(1, len(result["rtt_ms"])),
        f"answers slower than {SLOW_ANSWER_MS:.0f} ms (%)": slow_share(result["rtt_ms"]),
        "callers placed": result["calls"],
        "calls a call taker's phone took": result["taken"],
        "callers who gave up waiting": gave_up,
        "lost (failed, no record or no named outcome)": result["lost"],
        **(
            {
                "taker free -> next ring p50 (ms)": percentile(result["ring_gap_ms"], 50),
                "taker free -> next ring p99 (ms)": percentile(result["ring_gap_ms"], 99),
            }
            if result["ring_gap_ms"]
            else {}
        ),
        "Asterisk CPU per call (ms)": per_call_ms(result, "cpu_asterisk_s"),
        "control plane CPU per call (ms)": per_call_ms(result, "cpu_app_s"),
        "whole path CPU per call (ms)": per_call_ms(result, "cpu_asterisk_s", "cpu_app_s"),
        # a caller who waits longer costs more (hold audio, recording): per call-second,
        # the paths compare however long their queues made the calls
        "mean call length (s)": result.get("call_s_mean", math.nan),
        "Asterisk CPU per call-second (ms)": per_call_second_ms(result, "cpu_asterisk_s"),
        "whole path CPU per call-second (ms)": per_call_second_ms(result, "cpu_asterisk_s", "cpu_app_s"),
        # the whole machine (SIPp's callers and phones too), twice a second while callers
        # arrived and waited: a saturated machine is what slows answers, whatever spends it
        "machine CPU busy p50 (%)": percentile(result.get("busy_pct", []), 50),
        "machine CPU busy p90 (%)": percentile(result.get("busy_pct", []), 90),
        f"time the machine was {BUSY_PCT:.0f}%+ busy (%)": busy_share(result.get("busy_pct", [])),
        "Asterisk peak memory (MB)": result["peak_asterisk_mb"],
        "control plane peak memory (MB)": result["peak_app_mb"],
        "run time (s)": result["elapsed_s"],
    }


def fmt(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value:.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:.1f}"


def table(results: list[dict[str, Any]]) -> list[str]:
    native = next((rows(r) for r in results if r["path"] == "native"), None)
    others = [r for r in results if r["path"] != "native"]
    head = [NAMES[r["path"]] for r in results] + [f"{NAMES[r['path']]} / native" for r in others if native]
    lines = ["| | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    figures = [rows(r) for r in results]
    for name in figures[0]:
        cells = [fmt(f[name]) for f in figures]
        if native:
            for r in others:
                a, b = rows(r)[name], native[name]
                cells.append(f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def targets(results: list[dict[str, Any]], rtt_times_native: float = 0.0) -> list[str]:
    """The issue's targets met or not; `rtt_times_native`: the INVITE -> 200 OK p99 may be
    this times native's (0: native's + TARGET_RTT_OVER_NATIVE_MS)."""
    by = {r["path"]: rows(r) for r in results}
    raw = {r["path"]: r for r in results}
    lines = ["## Targets", ""]
    if "ari" in by and "native" in by:
        p99, native_p99 = by["ari"]["INVITE -> 200 OK p99 (ms)"], by["native"]["INVITE -> 200 OK p99 (ms)"]
        if rtt_times_native:
            ok, rule = met(p99 <= rtt_times_native * native_p99), f"{rtt_times_native:g}x native"
        else:
            over = TARGET_RTT_OVER_NATIVE_MS
            ok, rule = met(p99 <= native_p99 + over), f"native + {over:.0f} ms"
        lines.append(f"- INVITE -> 200 OK p99 <= {rule}: {fmt(p99)} ms (native {fmt(native_p99)}), {ok}")
    if "native" in by:
        native_cpu = by["native"]["whole path CPU per call (ms)"]
        native_star = by["native"]["Asterisk CPU per call (ms)"]
        for path in ("ari", "bare"):
            if path in by and native_cpu and native_star:
                star = by[path]["Asterisk CPU per call (ms)"] / native_star
                ratio = by[path]["whole path CPU per call (ms)"] / native_cpu
                lines.append(f"- {NAMES[path]} Asterisk CPU per call <= {TARGET_ASTERISK_RATIO}x native: "
                             f"{star:.2f}x, {met(star <= TARGET_ASTERISK_RATIO)}")  # fmt: skip
                lines.append(f"- {NAMES[path]} whole path CPU per call <= {TARGET_CPU_RATIO}x native: "
                             f"{ratio:.2f}x, {met(ratio <= TARGET_CPU_RATIO)}")  # fmt: skip
    if "ari" in raw and raw["ari"].get("timing"):
        ari = raw["ari"]
        waited = [t for t in ari["timing"] if t["waited"]]
        in_time = sum(t["screened"] and not t["after_offer"] for t in waited)
        lines.append(f"- every caller who waited had a verdict before the offer: {in_time} of {len(waited)}, "
                     f"{met(in_time == len(waited))}")  # fmt: skip
        late = [t["late_s"] for t in ari["timing"] if t["late_s"] is not None]
        if late:
            p99_late = percentile(late, 99)
            lines.append(f"- first verdict p99 <= {TARGET_LATE_P99_S} s after the greeting's end: "
                         f"{p99_late:.2f} s, {met(p99_late <= TARGET_LATE_P99_S)}")  # fmt: skip
        wrong = ari["order_violations"]
        greeting = ari.get("order_violations_in_greeting", 0)
        why = f" ({greeting} with the normal caller still in its greeting, not yet in line)" if wrong else ""
        lines.append(f"- no caller moved down offered while a normal caller who arrived earlier waited: "
                     f"{wrong} such pairs{why}, {met(wrong == 0)}")  # fmt: skip
        lines += [f"  - {pair}" for pair in ari.get("order_violation_pairs", [])[:5]]
        speaking = ari["wait_by_kind_s"].get("speech", [])
        native_speaking = raw.get("native", {}).get("wait_by_kind_s", {}).get("speech", [])
        if speaking and native_speaking:
            ratio = percentile(speaking, 90) / max(1e-9, percentile(native_speaking, 90))
            lines.append(f"- speaking callers' wait p90 against native app_queue's (FCFS): "
                         f"{percentile(speaking, 90):.1f} s vs {percentile(native_speaking, 90):.1f} s = "
                         f"{ratio:.2f}x (target for a surge <= {TARGET_SPEAKING_WAIT_RATIO}x: "
                         f"{met(ratio <= TARGET_SPEAKING_WAIT_RATIO)})")  # fmt: skip
    for path, figures in by.items():
        lost = figures["lost (failed, no record or no named outcome)"]
        lines.append(f"- 0 lost calls ({NAMES[path]}): {fmt(lost)} lost, {'met' if lost == 0 else 'NOT met'}")
    return [*lines, ""]


def screening_in_time(timing: list[dict[str, Any]]) -> list[str]:
    """Was every caller screened, and before being offered? The first verdict's lateness
    after the greeting's end, and the time to a taker by first verdict."""
    if not timing:
        return []
    waited = [t for t in timing if t["waited"]]
    lines = ["", "| screening | all callers | callers who waited |", "|---|---|---|"]
    for name, test in (
        ("screened", lambda t: t["screened"]),
        ("screened by energy and keys only (speech detection at capacity)", lambda t: t["energy_only"]),
        ("gone in the greeting, before a verdict was due", lambda t: t["left_in_greeting"]),
        ("unscreened", lambda t: not t["screened"] and not t["left_in_greeting"]),
        ("first verdict after the first offer", lambda t: t["after_offer"]),
    ):
        among_all, among_waited = sum(map(test, timing)), sum(map(test, waited))
        lines.append(f"| {name} | {among_all} of {len(timing)} | {among_waited} of {len(waited)} |")
    late = [t["late_s"] for t in timing if t["late_s"] is not None]
    if late:
        lines += ["", f"First verdict after the greeting's end: p50 {percentile(late, 50):.2f} s, "
                      f"p99 {percentile(late, 99):.2f} s."]  # fmt: skip
    by: dict[str, list[float]] = {}
    for t in timing:
        if t["wait_s"] is not None:
            by.setdefault(t["verdict"], []).append(t["wait_s"])
    lines += [
        "",
        "| first verdict | reached a taker | to a call taker p50 (s) | p99 (s) |",
        "|---|---|---|---|",
    ]
    for verdict, waits in sorted(by.items()):
        lines.append(
            f"| {verdict} | {len(waits)} | {percentile(waits, 50):.2f} | {percentile(waits, 99):.2f} |"
        )
    return lines


def answer_times(results: list[dict[str, Any]], phone_delay_s: float) -> list[str]:
    """INVITE -> a call taker answered, on every path; on the control plane's paths also for
    the callers offered on arrival (a call taker was free when they came)."""
    with_answers = [r for r in results if r.get("answer_s")]
    if not with_answers:
        return []
    lines = ["## INVITE -> call taker answered", "",
             "| path | callers answered | p50 (s) | p99 (s) | offered on arrival | p50 (s) | p99 (s) |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in with_answers:
        everyone, at_once = r["answer_s"], r.get("answer_at_once_s", [])
        once = (f"{len(at_once)} | {percentile(at_once, 50):.2f} | {percentile(at_once, 99):.2f}"
                if at_once else ("0 | - | -" if "answer_at_once_s" in r else "n/a | - | -"))  # fmt: skip
        lines.append(f"| {NAMES[r['path']]} | {len(everyone)} | {percentile(everyone, 50):.2f} | "
                     f"{percentile(everyone, 99):.2f} | {once} |")  # fmt: skip
    bound = phone_delay_s + TARGET_AT_ONCE_OVER_PHONE_S
    for r in with_answers:
        if r.get("answer_at_once_s"):
            p99 = percentile(r["answer_at_once_s"], 99)
            extra = TARGET_AT_ONCE_OVER_PHONE_S
            verdict = f"{p99:.2f} s, {met(p99 <= bound)}"
            lines.append(f"\n- {NAMES[r['path']]}, a call taker free: INVITE -> answered p99 <= the phones' "
                         f"answer delay {phone_delay_s:g} s + {extra:g} s: {verdict}")  # fmt: skip
    return [*lines, ""]


def waits_by_audio(results: list[dict[str, Any]]) -> list[str]:
    """Time to a call taker by what the caller sent, on every path (native: first come, first served)."""
    with_kinds = [r for r in results if r.get("wait_by_kind_s")]
    if not with_kinds:
        return []
    lines = ["## Time to a call taker by what the caller sent", "",
             "| audio | " + " | ".join(f"{NAMES[r['path']]} p50 / p90 (s)" for r in with_kinds) + " |",
             "|---" * (len(with_kinds) + 1) + "|"]  # fmt: skip
    for kind in ("speech", "noise", "silent", "prank number"):
        cells = []
        for r in with_kinds:
            waits = r["wait_by_kind_s"].get(kind, [])
            cells.append(
                f"{percentile(waits, 50):.1f} / {percentile(waits, 90):.1f} ({len(waits)})" if waits else "-"
            )
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def control_plane(result: dict[str, Any]) -> list[str]:
    lines = [f"## {NAMES[result['path']]}: its own records", ""]
    lines.append(f"Records: {result['records']} ({result['no_record']} callers without one); outcomes: "
                 + ", ".join(f"{o} {n}" for o, n in sorted(result["outcomes"].items())))  # fmt: skip
    lines.append(
        "Screening verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(result["verdicts"].items()))
    )
    lines += [
        "",
        "| priority | calls that reached a taker | to a call taker p50 (s) | p99 (s) |",
        "|---|---|---|---|",
    ]
    for level, waits in sorted(result["to_taker_s"].items()):
        lines.append(
            f"| {level} | {len(waits)} | {percentile(waits, 50):.2f} | {percentile(waits, 99):.2f} |"
        )
    lines += screening_in_time(result.get("timing", []))
    if result.get("listened_s"):
        per = 1000 * result["cpu_app_s"] / result["listened_s"]
        heard = result["listened_s"]
        lines += ["", f"Control plane CPU per screened call-second (all its CPU over {heard:.0f} s "
                  f"listened to): {per:.1f} ms."]  # fmt: skip
    threads = result.get("cpu_app_threads_s") or {}
    if threads and result["calls"]:
        parts = sorted(threads.items(), key=lambda item: -item[1])
        each = [f"{name} {1000 * spent / result['calls']:.1f} ms" for name, spent in parts if spent > 0]
        lines += ["", "Control plane CPU per call by thread: " + ", ".join(each) + "."]
    if result["screening_s"]:
        s = result["screening_s"]
        lines += [
            "",
            f"Screening, start to verdict: p50 {percentile(s, 50):.2f} s, p99 {percentile(s, 99):.2f} s.",
        ]
    if result["prank_levels"]:
        lines += ["", "Repeat prank number, priority of each of its calls in arrival order: "
                  + " ".join(result["prank_levels"])]  # fmt: skip
    if "desk" in result:
        desk = result["desk"]
        joined = result["agency_joined_s"]
        lines += ["", f"Desk: {desk.verdicts} prank verdicts, {desk.agency_requests} agency requests; "
                  f"{len(joined)} agencies joined (request -> joined p50 {percentile(joined, 50):.1f} s), "
                  f"{result['agency_missed']} did not; refused requests: {len(desk.refused)}"]  # fmt: skip
        lines += [f"  - {r}" for r in desk.refused[:10]]
    return [*lines, ""]


def cdf(ax: Any, samples: list[float], label: str) -> None:
    if samples:
        ordered = sorted(samples)
        ax.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=label)


def charts(results: list[dict[str, Any]], out: Path) -> list[str]:
    drawn = []
    for key, title, unit, name in (
        ("rtt_ms", "INVITE -> 200 OK", "ms", "invite_200.png"),
        ("ring_gap_ms", "taker free -> next ring (callers waiting)", "ms", "taker_ring.png"),
    ):
        if not any(r[key] for r in results):
            continue
        fig, ax = plt.subplots(figsize=(7, 4))
        for r in results:
            cdf(ax, r[key], NAMES[r["path"]])
        ax.set(title=title, xlabel=unit, ylabel="share of calls")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.savefig(out / name, dpi=100, bbox_inches="tight")
        plt.close(fig)
        drawn.append(name)
    for r in results:
        if r.get("to_taker_s"):
            fig, ax = plt.subplots(figsize=(7, 4))
            for level, waits in sorted(r["to_taker_s"].items()):
                cdf(ax, waits, level)
            ax.set(title=f"time to a call taker by priority ({NAMES[r['path']]})", xlabel="s",
                   ylabel="share of calls")  # fmt: skip
            ax.grid(alpha=0.3)
            ax.legend()
            name = f"to_taker_{r['path']}.png"
            fig.savefig(out / name, dpi=100, bbox_inches="tight")
            plt.close(fig)
            drawn.append(name)
    return drawn


def report(results: list[dict[str, Any]], sc: Scenario, out: Path, phone_delay_s: float = 0.5) -> str:
    lines = [
        f"# Load run {out.name}: {sc.name}",
        "",
        f"{sc.describe}: {sc.calls} callers at {sc.rate:g}/s, at most {sc.limit} at once, patience "
        f"{sc.patience_s:g} s (half speech, a quarter noise, a quarter silence"
        + (f", every {sc.prank_every}th from the repeat prank number" if sc.prank_every else "")
        + f"); {sc.takers} SIPp call takers talking {sc.talk_s[0]:g}-{sc.talk_s[1]:g} s, wrap-up 0;"
        + " loopback.",
        "",
        *table(results),
        "",
        *targets(results, sc.rtt_times_native),
        *answer_times(results, phone_delay_s),
        *waits_by_audio(results),
    ]
    for r in results:
        if "timing" in r:
            lines += control_plane(r)
    lines += [f"![{name}]({name})" for name in charts(results, out)]
    lines += [
        "",
        "Features on each path: native app_queue and the control plane both record every call",
        "(MixMonitor in the dialplan); the control plane also screens it (a snoop and RTP to the",
        "control plane for Silero speech detection and the second cue, or Asterisk's talk",
        "detection beyond capacity; Vosk when a model is set). The bare ARI path is the control",
        "plane with screening and recording off. The native path's records are the dialplan's",
        "lines (a caller without one counts as lost).",
        "",
    ]
    return "\n".join(lines)
