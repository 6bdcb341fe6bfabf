# SPDX-License-Identifier: GPL-2.0-or-later
"""The goals `make bench` measures against, and the summary table at the top of its report:
one row per goal, mod_kmen's figure, its peers' (mellon, Shibboleth) beside it, and the
verdict (met, MISSED, or not measured in this run). The kmen module in nginx has a row of its
own, its figure in mod_kmen's column.

Section 3 (the register) fills its figures under these names, in the run's results (r) or
in r["register"]: register_write_ratio (a returning login's database work against
`pgbench -N`, 8 connections), register_read_ratio (the resolution alone against
`pgbench -S`, 8 connections), register_p99_ms_10m (p99 resolution latency on the
10,000,000-client register, 8 connections) and, if a run measures the import,
register_import_seconds_10m.

The two 10,000,000-client figures take longer than `make bench` may: `make bench-10m` measures
them (the import, then section 3 on that register alone) and keeps them in
bench/figures-10m.json, which the table reads when its own run did not measure them."""

import datetime
import json
from pathlib import Path

import memory

GOAL_AUTH = 0.95        # authenticated request / plain httpd at c=32 (section 1); nginx's
                        # kmen / plain nginx likewise
GOAL_SWEEP = 0.90       # the same at every point of the sweep (section 5)
GOAL_ACS = 0.25         # ACS logins/s / RSA ceiling; /kmen/login likewise (section 2)
GOAL_COMMITS = 1        # commits per login (section 2)
GOAL_REGISTER_WRITE = 1.0
GOAL_REGISTER_READ = 0.5
GOAL_REGISTER_P99_MS = 2.0
GOAL_IMPORT_SECONDS = 240
GOAL_SOAK = {"requests": 1_000_000, "logins": 10_000}   # goal 5, after the warm-up
PEERS = ("mellon", "shib")
UNMEASURED = "not measured in this run"


def best(r, kind):
    return max(x["rps"] for x in r["auth"][kind])


def sweep_ratio(r, kind, c):
    """The median of KIND's paired ratios to plain httpd at C (bench/run.py's sweep_point);
    the ratio of the medians for a run saved before the sweep paired its runs."""
    point = r["sweep"][kind][c]
    if "paired" in point:
        return point["paired"]
    return point["rps"] / r["sweep"]["plain"][c]["rps"]


def worst_point(r, kind):
    """(concurrency, ratio to plain) of KIND's lowest point in the sweep."""
    c = min(r["sweep"][kind], key=lambda c: sweep_ratio(r, kind, c))
    return c, sweep_ratio(r, kind, c)


SEPARATE = Path(__file__).resolve().parent / "figures-10m.json"


def record_separate(name, value):
    """Keeps NAME's figure, measured by `make bench-10m`, for the goals table of later runs."""
    kept = json.loads(SEPARATE.read_text()) if SEPARATE.exists() else {}
    kept[name] = {"value": value, "date": datetime.date.today().isoformat()}
    SEPARATE.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")


def register_figure(r, name):
    """(value, where it comes from: "" for this run) or (None, "")."""
    reg = r.get("register")
    v = r.get(name, reg.get(name) if isinstance(reg, dict) else None)
    if v is not None or not SEPARATE.exists():
        return v, ""
    kept = json.loads(SEPARATE.read_text()).get(name)
    return (kept["value"], f" (`make bench-10m`, {kept['date']})") if kept else (None, "")


def verdict(met):
    return UNMEASURED if met is None else ("met" if met else "**MISSED**")


def row(goal, figures, met):
    """FIGURES: {kind: text}; a kind without a figure shows a dash."""
    cells = [figures.get(k) or "–" for k in ("kmen", *PEERS)]
    return f"| {goal} | " + " | ".join(cells) + f" | {verdict(met)} |"


def auth_rows(r):
    if "auth" not in r:
        return [row(f"1. Authenticated request ≥ {GOAL_AUTH:.2f} of plain httpd at c=32",
                    {}, None)]
    plain = best(r, "plain")
    ratios = {k: best(r, k) / plain for k in ("kmen", *PEERS) if r["auth"].get(k)}
    return [row(f"1. Authenticated request ≥ {GOAL_AUTH:.2f} of plain httpd at c=32 (section 1)",
                {k: f"{v:.2f}" for k, v in ratios.items()}, ratios["kmen"] >= GOAL_AUTH)]


def nginx_rows(r):
    """nginx + kmen against plain nginx; a run saved before nginx was in the bench has
    neither."""
    goal = f"1. nginx: authenticated request ≥ {GOAL_AUTH:.2f} of plain nginx at c=32 (section 1)"
    if not r.get("auth", {}).get("nginx_kmen"):
        return [row(goal, {}, None)]
    ratio = best(r, "nginx_kmen") / best(r, "nginx")
    return [row(goal, {"kmen": f"{ratio:.2f}"}, ratio >= GOAL_AUTH)]


def sweep_rows(r):
    goal = f"1. ≥ {GOAL_SWEEP:.2f} of plain at every point of the 1–64 sweep (section 5)"
    if "sweep" not in r:
        return [row(goal, {}, None)]
    worst = {k: worst_point(r, k) for k in ("kmen", *PEERS) if k in r["sweep"]}
    return [row(goal, {k: f"lowest {v:.2f} (c={c})" for k, (c, v) in worst.items()},
                worst["kmen"][1] >= GOAL_SWEEP)]


def acs_rows(r):
    goals = [f"2. ACS sequential ≥ {GOAL_ACS:.0%} of one core's RSA ceiling (section 2)",
             f"2. ACS 8 concurrent ≥ {GOAL_ACS:.0%} of the machine's RSA ceiling",
             f"2. Login start ≥ {GOAL_ACS:.0%} of the machine's RSA ceiling",
             "2. One durable commit per login (transaction IDs taken, sequential batch)"]
    acs, login = r.get("acs", {}), r.get("login", {})
    if "rsa" not in r or "kmen" not in acs:
        return [row(g, {}, None) for g in goals]
    one, machine = r["rsa"]["one"]["sign"], r["rsa"]["machine"]["sign"]
    shares = [{k: a["sequential"]["rate"] / one for k, a in acs.items()},
              {k: a["concurrent"]["rate"] / machine for k, a in acs.items()},
              {k: x["rps"] / machine for k, x in login.items()}]
    rows = [row(g, {k: f"{v:.1%}" for k, v in s.items()},
                s["kmen"] >= GOAL_ACS if "kmen" in s else None)
            for g, s in zip(goals, shares)]
    commits = acs["kmen"]["sequential"].get("commits_per_login")
    rows.append(row(goals[3], {"kmen": f"{commits:.2f}" if commits is not None else None},
                    None if commits is None else round(commits, 1) <= GOAL_COMMITS))
    return rows


def register_rows(r):
    out = []
    for goal, name, fmt, ok in (
            (f"3. Returning login's database work ≥ {GOAL_REGISTER_WRITE}× pgbench -N "
             "(8 connections; section 3)", "register_write_ratio", "{:.2f}",
             lambda v: v >= GOAL_REGISTER_WRITE),
            (f"3. Resolution alone ≥ {GOAL_REGISTER_READ}× pgbench -S (8 connections)",
             "register_read_ratio", "{:.2f}", lambda v: v >= GOAL_REGISTER_READ),
            (f"3. p99 resolution < {GOAL_REGISTER_P99_MS:g} ms at 10,000,000 clients "
             "(8 connections)", "register_p99_ms_10m", "{:.2f} ms",
             lambda v: v < GOAL_REGISTER_P99_MS),
            (f"3. Import of 10,000,000 clients < {GOAL_IMPORT_SECONDS // 60} min "
             "(`make bench-10m`)", "register_import_seconds_10m", "{:.0f} s",
             lambda v: v < GOAL_IMPORT_SECONDS)):
        v, source = register_figure(r, name)
        out.append(row(goal, {"kmen": fmt.format(v) + source if v is not None else None},
                       None if v is None else ok(v)))
    return out


def peers_rows(r):
    """Goal 4: both peers measured beside mod_kmen in sections 1, 2 and 5."""
    sections = {"1": r.get("auth", {}), "2": r.get("acs", {}), "5": r.get("sweep", {})}
    if not all(sections.values()):
        return [row("4. Both peers beside mod_kmen in sections 1, 2 and 5", {}, None)]
    present = {k: ", ".join(s for s, got in sections.items() if got.get(k)) or "none"
               for k in PEERS}
    return [row("4. Both peers beside mod_kmen in sections 1, 2 and 5",
                {k: f"in {v}" for k, v in present.items()},
                all(v == "1, 2, 5" for v in present.values()))]


def memory_rows(r):
    """Goal 5; a run with a shorter soak (--quick, BENCH_SOAK_LOGINS) gives its figures
    but no verdict."""
    out = []
    for work, what in (("requests", "authenticated requests"), ("logins", "logins")):
        tracks = r.get("memory", {}).get(work, {})
        if work == "logins":  # section 2's few logins alone say nothing of a soak
            tracks = {k: t for k, t in tracks.items() if k in r.get("login_soak", {})}
        figures = {k: memory.verdict_text(t, work) for k, t in tracks.items()}
        for peer in PEERS:
            figures.setdefault(peer, "not soaked")
        kmen = tracks.get("kmen")
        flat = kmen.verdict()[0] if kmen and kmen.work() >= GOAL_SOAK[work] else None
        out.append(row(f"5. RSS flat over {GOAL_SOAK[work]:,} {what} (per process, after "
                       "warm-up; section 4)", figures, flat))
    return out


def summary(b):
    r = b.r
    L = ["### Goals", "",
         "| goal | mod_kmen | mellon | Shibboleth | verdict (mod_kmen) |",
         "|---|---|---|---|---|"]
    L += auth_rows(r) + nginx_rows(r) + sweep_rows(r) + acs_rows(r) + register_rows(r)
    L += peers_rows(r) + memory_rows(r)
    t = r.get("timings", {})
    if t:
        L += ["", "Time taken: " + ", ".join(
            f"{'start-up' if k == 'start' else 'section ' + k} {v / 60:.1f} min"
            for k, v in t.items()) + "."]
    return L + [""]
