#!/usr/bin/env python3
"""Writes the generated tables of docs/BENCHMARKS.md from the committed results in
bench/results/ (today: sweep.json, from `./scripts/bench.sh sweep`), between the markers
`<!-- generated: sweep -->` and `<!-- end: sweep -->`, so the doc's figures and the data
cannot drift apart.

    python3 scripts/bench-report.py           rewrite the doc
    python3 scripts/bench-report.py --check   exit 1 if the doc differs (scripts/test.sh)
"""
import json
import sys
import time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
doc_path = root / "docs/BENCHMARKS.md"


def number(value, digits=1):
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) < 1:
        return f"{value:.3f}"
    return f"{value:.{digits}f}"


def spread(figure):
    """median (min–max) of a figure summarised over the runs."""
    if not figure:
        return "—"
    if figure["min"] == figure["max"]:
        return number(figure["median"])
    return f"{number(figure['median'])} ({number(figure['min'])}–{number(figure['max'])})"


def rate(value):
    return "none" if value is None else f"{value:,.0f}"


def sweep_table(summary):
    chat, sio = summary["chat"], summary["socketio"]
    lines = [
        "| offered deliveries/s | chat p99 ms | Socket.IO p99 ms | chat CPU µs per delivery | Socket.IO CPU µs per delivery | chat's CPU ≤ Socket.IO's (medians) |",
        "|---:|---:|---:|---:|---:|:---:|",
    ]
    for mine, theirs in zip(chat["steps"], sio["steps"]):
        def cell(step, name):
            text = spread(step[name])
            if step["runs_offered"] and not step["sustained"]:
                text += f" (in full in {step['runs_delivered_in_full']} of {step['runs_offered']} runs)"
            elif not step["runs_offered"]:
                text = "not offered (saturated below)"
            return text

        a = (mine["server_cpu_us_per_delivery"] or {}).get("median")
        b = (theirs["server_cpu_us_per_delivery"] or {}).get("median")
        verdict = "—" if a is None or b is None else ("yes" if a <= b else "**no**")
        lines.append(
            f"| {mine['offered_deliveries_per_sec']:,.0f} | {cell(mine, 'p99_ms')} | {cell(theirs, 'p99_ms')} "
            f"| {cell(mine, 'server_cpu_us_per_delivery')} | {cell(theirs, 'server_cpu_us_per_delivery')} | {verdict} |"
        )
    lines.append("")
    for name, label in ((chat, "chat"), (sio, "Socket.IO")):
        bounds = name["highest_rate_with_p99_under_ms"]
        lines.append(
            f"- {label}: highest offered rate delivered in full with a median p99 under 10 / 50 / 100 ms: "
            f"{rate(bounds['10'])} / {rate(bounds['50'])} / {rate(bounds['100'])} deliveries/s"
        )
    idle = [
        f"{label} {spread(name.get('idle_server_cores'))}"
        for name, label in ((chat, "chat"), (sio, "Socket.IO"))
    ]
    lines.append(f"- Server CPU with the sockets connected and nothing sent (pings, timers), in cores: {'; '.join(idle)}")
    steal = [
        f"{s['offered_deliveries_per_sec']:,.0f}: {spread(s['cpu_stolen_seconds'])}"
        for s in chat["steps"]
        if s["cpu_stolen_seconds"]
    ]
    if steal:
        lines.append(f"- CPU seconds stolen by the hypervisor per step of the chat server's runs, median (min–max): {'; '.join(steal)}")
    return lines


def sweep_section(data):
    config = data["config"]
    when = time.strftime("%Y-%m-%d", time.gmtime(data["generated_at_unix_ms"] / 1000))
    lines = [
        f"Run of {when} (`./scripts/bench.sh sweep`, {data['run_seconds'] / 60:.0f} minutes): "
        f"{config['runs']} runs per server, the order alternating; each step {config['step_secs']:g} s "
        f"open loop; {config['sockets']:,} sockets in rooms of {config['room_size']}; "
        f"{config['history_messages']:,} messages stored in the chat database beforehand; bodies of "
        f"{config['body_bytes']} bytes; {data['cores']} cores. Every figure is the median of the runs "
        "with the min and max; latency runs from when a message was due to its delivery.",
        "",
    ]
    titles = {
        "both_cores": "Both servers free on both cores",
        "one_core": "Equal cores: both servers on one core (`taskset -c 1`)",
    }
    for variant, summary in data["summary"].items():
        lines += [f"**{titles.get(variant, variant)}**", ""] + sweep_table(summary) + [""]
    kill = data.get("kill")
    if kill:
        lines.append(
            f"**SIGKILL under load.** {kill['offered_deliveries_per_sec']:,.0f} deliveries/s offered; the "
            f"server was killed with SIGKILL {kill['killed_after_secs']:g} s in, started again on its data, "
            f"and each of the {kill['acked_before_kill']:,} messages acked before the kill was looked for: "
            f"{kill['acked_missing_after_restart']} missing."
        )
        lines.append("")
    failed = [c for c in data.get("checks", []) if not c.get("ok")]
    lines.append(
        "Checks of the run: " + ("all passed." if not failed else "FAILED: " + "; ".join(c["check"] for c in failed))
    )
    return "\n".join(lines)


def render(doc):
    results = root / "bench/results/sweep.json"
    begin, end = "<!-- generated: sweep -->", "<!-- end: sweep -->"
    if begin not in doc or end not in doc:
        sys.exit("docs/BENCHMARKS.md has no sweep markers")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    if results.exists():
        body = sweep_section(json.loads(results.read_text()))
    else:
        body = "No sweep has been run yet (`./scripts/bench.sh sweep`)."
    note = "<!-- written by scripts/bench-report.py from bench/results/sweep.json: do not edit -->"
    return f"{head}{begin}\n{note}\n{body}\n{end}{tail}"


doc = doc_path.read_text()
new = render(doc)
if "--check" in sys.argv:
    if new != doc:
        sys.exit("docs/BENCHMARKS.md does not match bench/results/sweep.json: run scripts/bench-report.py")
elif new != doc:
    doc_path.write_text(new)
    print("docs/BENCHMARKS.md updated")
