# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile SAML Responses at the ACS (t/hostile/): signature wrapping, stripped and foreign
signatures, edits under a signature, wrong envelope, replays, DTDs and entities, XInclude,
oversized and malformed bodies, weak algorithms. Each must get a 4xx with no session cookie,
no new kmen.session or kmen.client row and no crashed httpd child.

With KMEN_HOSTILE_RESULTS=FILE in the environment (make test-hostile), the table of every
case's outcome is written to FILE when the pytest session ends (t/hostile/report.py).
"""

import time

import pytest

from t.hostile import report
from t.hostile.cases import CASES, CONTROLS, Context
from t.hostile.runner import Canary, Runner, crash_lines


@pytest.fixture(scope="module")
def hostile(stack):
    canary = Canary()
    ctx = Context(stack, canary.url)
    runner = Runner(ctx, canary)
    report.hostile_started(stack.module)
    yield runner
    report.hostile_ended()
    canary.stop()


@pytest.mark.parametrize("control", CONTROLS, ids=[c.name for c in CONTROLS])
def test_generator_control_is_accepted(hostile, control):
    """The generator's correctly signed output logs in: so a refusal below is the defect's."""
    result = hostile.run(control)
    report.OUTCOMES["controls"].append(result)
    assert result.ok, result.describe()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_response_is_refused(hostile, case):
    result = hostile.run(case)
    report.OUTCOMES["cases"].append(result)
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
