# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile SAML Responses at the ACS (t/hostile/): signature wrapping, stripped and foreign
signatures, edits under a signature, wrong envelope, replays, DTDs and entities, XInclude,
oversized and malformed bodies, weak algorithms. Each must get a 4xx with no session cookie,
no new kmen.session or kmen.client row and no crashed httpd child.

With KMEN_HOSTILE_RESULTS=FILE in the environment (make test-hostile), the table of every
case's outcome is written to FILE when the module's tests end.
"""

import os
import time
from pathlib import Path

import pytest

from t.hostile.cases import CASES, CONTROLS, Context
from t.hostile.runner import Canary, Runner, crash_lines, results_markdown

_outcomes = {"cases": [], "controls": [], "started": None}


@pytest.fixture(scope="module")
def hostile(stack):
    canary = Canary()
    ctx = Context(stack, canary.url)
    runner = Runner(ctx, canary)
    _outcomes["started"] = time.monotonic()
    yield runner
    canary.stop()
    out = os.environ.get("KMEN_HOSTILE_RESULTS")
    if out and _outcomes["cases"]:
        order = {c.name: i for i, c in enumerate(CASES)}
        results = sorted(_outcomes["cases"], key=lambda r: order[r.name])
        Path(out).write_text(results_markdown(
            results, _outcomes["controls"], stack.module,
            time.monotonic() - _outcomes["started"]))


@pytest.mark.parametrize("control", CONTROLS, ids=[c.name for c in CONTROLS])
def test_generator_control_is_accepted(hostile, control):
    """The generator's correctly signed output logs in: so a refusal below is the defect's."""
    result = hostile.run(control)
    _outcomes["controls"].append(result)
    assert result.ok, result.describe()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_response_is_refused(hostile, case):
    result = hostile.run(case)
    _outcomes["cases"].append(result)
    assert result.ok, result.describe()


def test_enough_distinct_cases():
    assert len({c.name for c in CASES}) == len(CASES) >= 40


def test_no_child_crashed(hostile):
    """Over the whole run, in every node's error log (a crash may be logged late)."""
    time.sleep(0.2)
    found = []
    for node in hostile.ctx.nodes():
        found += crash_lines(node.read_error_log())
    assert not found, "\n".join(found)
