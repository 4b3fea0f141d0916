#!/usr/bin/env python3
"""Writes the generated tables of docs/BENCHMARKS.md from the committed results in
bench/results/ (sweep.json, server.json, cluster.json, client.json, p2p.json, each written by
its part of `./scripts/bench.sh`), between the markers `<!-- generated: NAME -->` and
`<!-- end: NAME -->`, so the doc's figures and the data cannot drift apart.

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
    if value == int(value) and abs(value) < 100:
        return f"{value:.0f}"
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


LABELS = {"chat": "chat", "socketio": "Socket.IO", "synapse": "Synapse"}


def checks_line(data):
    """The load generator's checks of a run, in one line."""
    failed = [c for c in data.get("checks", []) if not c.get("ok")]
    return "Checks of the run: " + ("all passed." if not failed else "FAILED: " + "; ".join(c["check"] for c in failed))


def sweep_table(summary):
    servers = [key for key in ("chat", "socketio", "synapse") if key in summary]
    labels = [LABELS[key] for key in servers]
    header = (
        ["offered deliveries/s"]
        + [f"{label} p99 ms" for label in labels]
        + [f"{label} CPU µs per delivery" for label in labels]
        + ["chat's CPU ≤ Socket.IO's (medians)"]
    )
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---:|" * (len(header) - 1) + ":---:|",
    ]

    def cell(step, name):
        text = spread(step[name])
        if step["runs_offered"] and not step["sustained"]:
            text += f" (in full in {step['runs_delivered_in_full']} of {step['runs_offered']} runs)"
        elif not step["runs_offered"]:
            text = "not offered (saturated below)"
        return text

    for i, first in enumerate(summary[servers[0]]["steps"]):
        steps = [summary[key]["steps"][i] for key in servers]
        a = (summary["chat"]["steps"][i]["server_cpu_us_per_delivery"] or {}).get("median")
        b = (summary["socketio"]["steps"][i]["server_cpu_us_per_delivery"] or {}).get("median")
        verdict = "—" if a is None or b is None else ("yes" if a <= b else "**no**")
        cells = (
            [f"{first['offered_deliveries_per_sec']:,.0f}"]
            + [cell(step, "p99_ms") for step in steps]
            + [cell(step, "server_cpu_us_per_delivery") for step in steps]
            + [verdict]
        )
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for key, label in zip(servers, labels):
        bounds = summary[key]["highest_rate_with_p99_under_ms"]
        lines.append(
            f"- {label}: highest offered rate delivered in full with a median p99 under 10 / 50 / 100 ms: "
            f"{rate(bounds['10'])} / {rate(bounds['50'])} / {rate(bounds['100'])} deliveries/s"
        )
    idle = [f"{label} {spread(summary[key].get('idle_server_cores'))}" for key, label in zip(servers, labels)]
    lines.append(f"- Server CPU with the clients connected and nothing sent (pings, timers), in cores: {'; '.join(idle)}")
    if all(summary[key].get("memory_per_client_kib") for key in servers):
        memory = [f"{label} {spread(summary[key]['memory_per_client_kib'])}" for key, label in zip(servers, labels)]
        lines.append(f"- Server memory per connected client (resident, after connecting minus before), KiB: {'; '.join(memory)}")
    steal = [
        f"{s['offered_deliveries_per_sec']:,.0f}: {spread(s['cpu_stolen_seconds'])}"
        for s in summary["chat"]["steps"]
        if s["cpu_stolen_seconds"]
    ]
    if steal:
        lines.append(f"- CPU seconds stolen by the hypervisor per step of the chat server's runs, median (min–max): {'; '.join(steal)}")
    return lines


def sweep_section(data):
    config = data["config"]
    lines = [
        f"`./scripts/bench.sh sweep`: each step {config['step_secs']:g} s open loop; rooms of "
        f"{config['room_size']}; {config['history_messages']:,} messages stored in the chat database "
        f"beforehand; bodies of {config['body_bytes']} bytes; {data['cores']} cores; the servers' order "
        "rotating from run to run. Every figure is the median of the runs with the min and max; latency "
        "runs from when a message was due to its delivery.",
        "",
    ]
    titles = {
        "both_cores": "Both servers free on both cores",
        "one_core": "Equal cores: both servers on one core (`taskset -c 1`)",
        "matrix": "Beside Synapse (Matrix)",
    }
    for variant, summary in data["summary"].items():
        when = time.strftime("%Y-%m-%d", time.gmtime(summary["run_at_unix_ms"] / 1000))
        took = f", {summary['run_seconds'] / 60:.0f} minutes" if summary.get("run_seconds") else ""
        lines += [
            f"**{titles.get(variant, variant)}** (run of {when}{took}: {summary['runs']} runs per server, "
            f"{summary['clients']:,} clients)",
            "",
        ]
        if variant == "matrix":
            lines += [
                "The same rooms on each server, the chat server on its database of the sweeps above; "
                "Synapse from PyPI, one process on the machine's PostgreSQL, its CPU counted with "
                "PostgreSQL's; its senders PUT each message and its receivers long-poll `/sync`.",
                "",
            ]
        lines += sweep_table(summary) + [""]
    kill = data.get("kill")
    if kill:
        lines.append(
            f"**SIGKILL under load.** {kill['offered_deliveries_per_sec']:,.0f} deliveries/s offered; the "
            f"server was killed with SIGKILL {kill['killed_after_secs']:g} s in, started again on its data, "
            f"and each of the {kill['acked_before_kill']:,} messages acked before the kill was looked for: "
            f"{kill['acked_missing_after_restart']} missing."
        )
        lines.append("")
    lines.append(checks_line(data))
    return "\n".join(lines)


def verdict(met):
    return "met" if met else "**missed**"


def fixed(value, digits):
    return f"{value:,.{digits}f}"


def fixed_spread(figure, digits=0):
    """median (min–max) with a fixed number of decimals (bytes in KB: one)."""
    if figure["min"] == figure["max"]:
        return fixed(figure["median"], digits)
    return f"{fixed(figure['median'], digits)} ({fixed(figure['min'], digits)}–{fixed(figure['max'], digits)})"


def client_section(data):
    """The client figures (bench/results/client.json, from `node bench/browser/client.mjs`):
    each condition's first load, warm start and opening of the big room, median (min–max)."""
    conditions = data["network"]["conditions"]
    runs = data["runsPerCondition"]
    first = data["firstLoad"]["byCondition"]
    warm, opened = data["warmStart"], data["openRoom"]
    history = f"{data['history']:,}"
    lines = [
        f"Run of {data['at'][:10]} (`node bench/browser/client.mjs`, {data['runSeconds'] / 60:.0f} minutes, "
        f"{data['chromium']}): an on-disk profile, the whole browser launched again for every warm run "
        f"({runs['warmStart']} per condition) and a new profile for every first load ({runs['firstLoad']} per "
        "condition); each condition made real by a TCP proxy between Chromium and the server "
        "(`bench/browser/netem.mjs`): half the round trip each way, one more round trip for a new "
        "connection, bandwidth on one link per direction. Figures are medians (min–max); bytes are "
        "counted by the proxy, HTTP headers and WebSocket frames included.",
        "",
        f"| condition | first load: to the sign-up form, ms | bytes sent by the server before it, KB "
        f"| until the network is idle (the worker's install included), KB | warm start to a usable room list, ms "
        f"| open the {history}-message room, newest shown, ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in conditions:
        key = c["id"]
        f = first[key]
        lines.append(
            f"| {c['label']} | {fixed_spread(f['interactiveMs'])} | {fixed_spread(f['beforeInteractiveKB'], 1)} "
            f"| {fixed_spread(f['untilIdleKB'], 1)} | {fixed_spread(warm[key]['ms'])} | {fixed_spread(opened[key]['ms'])} |"
        )
    lines.append(
        f"| offline (IndexedDB only, after a restart) | | | | | {fixed_spread(opened['offline']['ms'])} |"
    )
    lines.append("")
    judged = "rtt100"
    label = next((c["label"] for c in conditions if c["id"] == judged), None)
    base = first["loopback"]["beforeInteractiveKB"]
    lines.append(
        f"- First load ≤ 250 KB as served (loopback runs): {fixed(base['median'], 1)} KB, {verdict(base['median'] <= 250)} "
        f"(the page's HTML, JS, wasm and CSS alone, as counted before: {fixed(data['firstLoad']['shellKB'], 1)} KB)."
    )
    if label:
        w, o = warm[judged]["ms"], opened[judged]["ms"]
        lines.append(f"- Warm start ≤ 300 ms at {label}: {fixed(w['median'], 0)} ms, {verdict(w['median'] <= 300)}.")
        lines.append(f"- {history}-message room ≤ 100 ms at {label}: {fixed(o['median'], 0)} ms, {verdict(o['median'] <= 100)}.")
    lines += [
        "",
        "Where a warm start's time goes (medians of each milestone, ms since the navigation began; "
        "the app opens IndexedDB while `/api/session` is on its way, so they overlap):",
        "",
        "| condition | HTML received from the worker | the app asks `/api/session` | its answer | IndexedDB open begun "
        "| IndexedDB opened | stored room list drawn (usable) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in conditions:
        m = warm[c["id"]]["milestones"]
        cells = ("htmlMs", "sessionStartMs", "sessionEndMs", "dbOpenStartMs", "dbOpenEndMs", "paintedMs")
        lines.append(f"| {c['label']} | " + " | ".join(fixed(m[cell], 0) for cell in cells) + " |")
    trace = data.get("trace")
    if trace:
        lines += [
            "",
            f"One more run at {next((c['label'] for c in conditions if c['id'] == trace['condition']), trace['condition'])}, "
            "recorded in a Chromium trace (not counted above), ms of the app's renderer:",
            "",
            "| | wall time | main thread busy | script (JS and wasm) | of which wasm compiled on first call "
            "| style | layout | paint | service worker thread busy |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, name in (("warmStart", "warm start"), ("openRoom", "opening the big room")):
            t = trace[key]
            cells = ("ms", "mainThreadBusyMs", "scriptMs", "wasmLazyCompileMs", "styleMs", "layoutMs", "paintMs", "serviceWorkerBusyMs")
            lines.append(f"| {name} | " + " | ".join(fixed(t[cell], 0) for cell in cells) + " |")
    first_load = data["firstLoad"]
    pages = first_load["pageResponses"]
    listed = ", ".join(f"`{r['url']}` {fixed(r['bytes'] / 1000, 1)}" for r in pages)
    lines += [
        "",
        f"The page's own responses on a first visit (CDP, KB with headers): {listed}; "
        f"{fixed(sum(r['bytes'] for r in pages) / 1000, 1)} KB in all. Requests that reached the server "
        f"before the sign-up form was there: {', '.join(first_load['requestsBeforeInteractive'])}; after it "
        f"(mostly the worker's install): {', '.join(first_load['requestsAfterInteractive'])}.",
    ]
    machine = data.get("machine")
    if machine:
        lines.append(
            f"Other work on the machine's {machine['cores']} cores during the run took {machine['otherShare']:.0%} of "
            f"their time, the hypervisor {machine['stealShare']:.0%}"
            + (": **the timings above are slower than this machine's own.**" if max(machine["otherShare"], machine["stealShare"]) > 0.1 else ".")
        )
    scroll = data.get("scroll")
    if scroll:
        lines.append(
            f"Scrolling to the first of the {history} messages: {scroll['steps']} steps in {fixed(scroll['seconds'], 1)} s, "
            f"at most {scroll['maxNodes']:,} DOM nodes ({scroll['baselineNodes']:,} with the room just opened) and "
            f"{scroll['maxArticles']} messages in the page."
        )
    return "\n".join(lines)


SERVER_TARGETS = {
    "1 KB per idle socket": ("≤ 6.5 KB", lambda chat, sio: chat <= 6.5),
    "2 deliveries/s": ("≥ 150,000", lambda chat, sio: chat >= 150_000),
    "2 server CPU µs per delivery": ("≤ Socket.IO's", lambda chat, sio: sio is not None and chat <= sio),
    "3 latency p99 ms": ("< 10 ms", lambda chat, sio: chat < 10),
    "2 acked messages lost": ("0", lambda chat, sio: chat == 0),
    "4 acked messages lost": ("0", lambda chat, sio: chat == 0),
}


def server_section(data):
    """The server scenario (bench/results/server.json, `./scripts/bench.sh server`): every
    figure the median of the alternated runs with min and max, and the targets judged on the
    chat server's median."""
    config = data["config"]
    when = time.strftime("%Y-%m-%d", time.gmtime(data["generated_at_unix_ms"] / 1000))
    summary = data["summary"]
    chat, sio = summary.get("chat", {}), summary.get("socketio", {})
    lines = [
        f"Run of {when} (`./scripts/bench.sh server`, {data['run_seconds'] / 60:.0f} minutes): "
        f"{config['runs']} runs per server, the order alternating, each from a fresh server; "
        f"{config['connections']:,} idle sockets (scenarios 1, 2), {config['latency_connections']:,} "
        f"(3, 4), rooms of {config['room_size']}; {data['cores']} cores. Median (min–max) of the runs.",
        "",
        "| scenario / figure | chat | Socket.IO | target | met (median) |",
        "|---|---:|---:|---|:---:|",
    ]
    names = list(chat.keys()) + [n for n in sio.keys() if n not in chat]
    for name in names:
        target, verdict = SERVER_TARGETS.get(name, ("", None))
        a = (chat.get(name) or {}).get("median")
        b = (sio.get(name) or {}).get("median")
        met = "" if verdict is None or a is None else ("yes" if verdict(a, b) else "**no**")
        lines.append(f"| {name} | {spread(chat.get(name))} | {spread(sio.get(name))} | {target} | {met} |")
    lines += ["", checks_line(data)]
    return "\n".join(lines)


def cluster_section(data):
    """The cluster scenario (bench/results/cluster.json, `./scripts/bench.sh cluster`): each
    figure per configuration, the median of the rounds with min and max."""
    when = time.strftime("%Y-%m-%d", time.gmtime(data["generated_at_unix_ms"] / 1000))
    configs = data["summary"]["configs"]
    ids = sorted(configs)
    config = data.get("config", {})
    lines = [
        f"Run of {when} (`./scripts/bench.sh cluster`, {data['run_seconds'] / 60:.0f} minutes): "
        f"{config.get('rounds', '?')} rounds, each configuration once per round in rotated order. "
        "Median (min–max) of the rounds.",
        "",
        "| figure | " + " | ".join(configs[i]["label"] for i in ids) + " |",
        "|---|" + "---:|" * len(ids),
    ]
    keys = []
    for i in ids:
        keys += [k for k in configs[i] if k != "label" and k not in keys]
    for key in keys:
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(spread(configs[i].get(key)) for i in ids) + " |")
    lines += ["", checks_line(data)]
    return "\n".join(lines)


def rows_section(data, command):
    """A browser benchmark's rows (bench/browser/lib.mjs's report): figure, value, target."""
    lines = [
        f"Run of {data['at'][:10]} (`{command}`; {data.get('chromium') or 'Chromium'}).",
        "",
        "| figure | value | target | met |",
        "|---|---:|---|:---:|",
    ]
    for row in data["rows"]:
        value = f"{row['value']} {row.get('unit') or ''}".strip()
        if row.get("range"):
            value += f" ({row['range']})"
        met = "" if row.get("met") is None else ("yes" if row["met"] else "**no**")
        lines.append(f"| {row['figure']} | {value} | {row.get('target') or ''} | {met} |")
    return "\n".join(lines)


def render_part(doc, name, section, command):
    """Replaces the text between `<!-- generated: NAME -->` and `<!-- end: NAME -->` with
    `section` of bench/results/NAME.json (or a sentence saying it has not been run)."""
    results = root / f"bench/results/{name}.json"
    begin, end = f"<!-- generated: {name} -->", f"<!-- end: {name} -->"
    if begin not in doc or end not in doc:
        sys.exit(f"docs/BENCHMARKS.md has no {name} markers")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    if results.exists():
        body = section(json.loads(results.read_text()))
    else:
        body = f"Not run yet (`{command}`)."
    note = f"<!-- written by scripts/bench-report.py from bench/results/{name}.json: do not edit -->"
    return f"{head}{begin}\n{note}\n{body}\n{end}{tail}"


doc = doc_path.read_text()
new = render_part(doc, "sweep", sweep_section, "./scripts/bench.sh sweep")
new = render_part(new, "client", client_section, "./scripts/bench.sh client")
new = render_part(new, "server", server_section, "./scripts/bench.sh server")
new = render_part(new, "cluster", cluster_section, "./scripts/bench.sh cluster")
new = render_part(new, "p2p", lambda data: rows_section(data, "node bench/browser/p2p.mjs"), "./scripts/bench.sh p2p")
if "--check" in sys.argv:
    if new != doc:
        sys.exit("docs/BENCHMARKS.md does not match bench/results/*.json: run scripts/bench-report.py")
elif new != doc:
    doc_path.write_text(new)
    print("docs/BENCHMARKS.md updated")
