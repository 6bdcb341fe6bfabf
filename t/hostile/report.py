# SPDX-License-Identifier: GPL-2.0-or-later
"""t/hostile/RESULTS.md, gathered while the tests run and written when the pytest session
ends (t/integration/conftest.py), if KMEN_HOSTILE_RESULTS names the file (make
test-hostile does): the hostile SAML Responses on each server
(t/integration/test_hostile.py) and the faults survived (test_faults.py, test_socache.py,
test_register.py's gateway faults) with their figures."""

import time
from dataclasses import dataclass
from pathlib import Path

from t.hostile.cases import CASES
from t.hostile.runner import md_cell, results_markdown
from t.lib.portal import SERVERS

# server ("httpd", "nginx") -> what its run of the hostile cases gathered
OUTCOMES = {}
FAULTS = []


@dataclass
class Fault:
    name: str
    what: str
    answered: int      # HTTP answers httpd gave while the fault was on (and around it)
    refused: int       # of those, 503 with Retry-After
    errors: int        # any other 5xx, reset connection or crashed child (must be 0)
    clients: int       # people who logged in: each must be exactly one client
    lost: int          # clients (or sessions) gone after the fault (must be 0)
    duplicated: int    # people with more than one client (must be 0)


def outcomes(server):
    """What the hostile cases run on SERVER gathered: cases, controls, module, seconds."""
    return OUTCOMES.setdefault(server, {"cases": [], "controls": [], "module": None,
                                        "started": None, "seconds": 0.0})


def hostile_started(server, module):
    run = outcomes(server)
    run["module"] = module
    run["started"] = time.monotonic()


def hostile_ended(server):
    run = outcomes(server)
    if run["started"] is not None:
        run["seconds"] = time.monotonic() - run["started"]


def record_fault(**figures):
    FAULTS.append(Fault(**figures))


def faults_markdown(faults):
    out = ["", "## Faults survived", "",
           "Written by the same run from t/integration/test_faults.py, test_socache.py and "
           "test_register.py: each fault is injected into a running site while the NIA "
           "simulator logs people in and sessions are in use, then the register is checked "
           "person by person. Allowed during a fault: the normal flow or 503 with "
           "Retry-After. \"lost\": people (or register rows) gone afterwards; "
           "\"duplicated\": people with two clients (or rows a refused login wrote).", "",
           "| fault | answers | 503 | other errors | people | lost | duplicated |",
           "|---|---|---|---|---|---|---|"]
    for f in faults:
        out.append(f"| `{f.name}`: {md_cell(f.what)} | {f.answered} | {f.refused} | "
                   f"{f.errors} | {f.clients} | {f.lost} | {f.duplicated} |")
    bad = sum(f.errors for f in faults)
    lost = sum(f.lost + f.duplicated for f in faults)
    out += ["", f"**{len(faults)} faults survived, {sum(f.answered for f in faults)} answers, "
                f"{bad} errors other than 503, {lost} clients lost or duplicated**"]
    return "\n".join(out) + "\n"


def write(path):
    """RESULTS.md, if the hostile cases ran in this session (a partial run writes nothing):
    a section for each server they ran on."""
    order = {c.name: i for i, c in enumerate(CASES)}
    sections = [(server, sorted(run["cases"], key=lambda r: order[r.name]), run["controls"],
                 run["module"], run["seconds"])
                for server, run in sorted(OUTCOMES.items(), key=lambda kv: SERVERS.index(kv[0]))
                if run["cases"]]
    if sections:
        Path(path).write_text(results_markdown(sections) + faults_markdown(FAULTS))
