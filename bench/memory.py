# SPDX-License-Identifier: GPL-2.0-or-later
"""Goal 5 of `make bench`: the resident memory of each server process, per process (never
summed), at checkpoints along the authenticated requests and along the logins, and whether
it stays flat after the warm-up.

A leak grows with the work done, so it shows as growth at every checkpoint; the allocator
warming its per-thread arenas shows as growth that stops. "Flat" is therefore two tests on
every process: its VmRSS at the last checkpoint is less than GROWTH_LIMIT_KIB above its
first (the one after the warm-up), and it did not grow by more than STEP_KIB in every
interval between the checkpoints (no monotone growth)."""

import re
from pathlib import Path

GROWTH_LIMIT_KIB = 2048
STEP_KIB = 256
_FIELDS = {"VmRSS": "rss", "RssAnon": "anon", "RssShmem": "shmem"}


def sample(pid):
    """{rss, anon, shmem} in KiB of PID (VmRSS and its anonymous and shared-memory parts), or
    None if it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    out = {}
    for field, key in _FIELDS.items():
        m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
        out[key] = int(m.group(1)) if m else 0
    return out


def cpu_ticks(pid):
    """User plus system CPU time of PID in clock ticks (/proc/PID/stat), or 0 if it has gone:
    how much work a server process has done, whichever connections brought it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])


class Track:
    """Checkpoints of one server along one kind of work (requests or logins): each a label,
    the work done so far, and {process name: sample}. The verdict counts from the
    checkpoint marked as the end of the warm-up (the first, unless mark_warm() moves it)."""

    def __init__(self):
        self.points = []
        self.warm = 0

    def mark_warm(self):
        """The last checkpoint so far ends the warm-up."""
        self.warm = max(0, len(self.points) - 1)

    def add(self, label, done, processes):
        """PROCESSES: {name: pid}, e.g. {"child 1234": 1234, "shibd": 99}."""
        self.points.append({"label": label, "done": done,
                            "rss": {name: sample(pid) for name, pid in processes.items()}})

    def names(self):
        return list(self.points[0]["rss"]) if self.points else []

    def growth(self, name):
        """(KiB grown from the first checkpoint to the last, every interval grew more than
        STEP_KIB) of process NAME; None if it has no figure at some checkpoint."""
        seq = [p["rss"].get(name) for p in self.points[self.warm:]]
        if len(seq) < 2 or any(s is None for s in seq):
            return None
        steps = [b["rss"] - a["rss"] for a, b in zip(seq, seq[1:])]
        return seq[-1]["rss"] - seq[0]["rss"], len(steps) >= 2 and min(steps) > STEP_KIB

    def verdict(self):
        """(flat, worst growth in KiB, name of that process); flat is None with fewer than
        two checkpoints or a process gone."""
        grown = {name: self.growth(name) for name in self.names()}
        if not grown or any(g is None for g in grown.values()):
            return None, None, None
        name = max(grown, key=lambda n: grown[n][0])
        flat = all(g < GROWTH_LIMIT_KIB and not monotone for g, monotone in grown.values())
        return flat, grown[name][0], name

    def work(self):
        """The work done from the first checkpoint to the last."""
        return self.points[-1]["done"] - self.points[self.warm]["done"] if self.points else 0


def verdict_text(track, unit):
    flat, worst, name = track.verdict()
    if flat is None:
        return "not measured"
    return (f"{'flat' if flat else 'GROWS'}: {worst:+,} KiB at most ({name}) over "
            f"{track.work():,} {unit}")


def table(title, track, unit):
    """Markdown rows: one per checkpoint, a column per process, VmRSS (anonymous part)."""
    names = track.names()
    L = [title, "", f"| checkpoint | {unit} so far | "
         + " | ".join(f"{n} VmRSS (anon) KiB" for n in names) + " |",
         "|---|---|" + "---|" * len(names)]
    for i, p in enumerate(track.points):
        cells = [f"{s['rss']:,} ({s['anon']:,})" if s else "gone"
                 for s in (p["rss"].get(n) for n in names)]
        label = p["label"] + (" (warm-up)" if i < track.warm else "")
        L.append(f"| {label} | {p['done']:,} | " + " | ".join(cells) + " |")
    rows = []
    for n in names:
        g = track.growth(n)
        if g:
            rows.append(f"{n} {g[0]:+,} KiB" + (" (grew at every checkpoint)" if g[1] else ""))
    L += ["", ("Growth after the warm-up: " + "; ".join(rows) + ".") if rows else "", ""]
    return L
