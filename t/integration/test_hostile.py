# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile SAML Responses at the ACS (t/hostile/): signature wrapping, stripped and foreign
signatures, edits under a signature, wrong envelope, replays, DTDs and entities, XInclude,
oversized and malformed bodies, weak algorithms. Each must get a 4xx with no session cookie,
no new kmen.session or kmen.client row and no crashed httpd child or nginx worker: every
case runs against httpd's mod_kmen and nginx's module (the `server` parameter).

With KMEN_HOSTILE_RESULTS=FILE in the environment (make test-hostile), the table of every
case's outcome is written to FILE when the pytest session ends (t/hostile/report.py).
"""

import subprocess
import time
from pathlib import Path

import pytest

from t.hostile import report
from t.hostile.cases import CASES, CONTROLS, Context
from t.hostile.runner import Canary, Runner, crash_lines, saml_response_of

REPO = Path(__file__).resolve().parents[2]
DIFFERENTIAL = REPO / "t" / "unit" / "saml_differential"


@pytest.fixture(scope="module")
def hostile(stack, server):
    """The runner of the cases at the ACS of SERVER's portal (httpd, nginx)."""
    canary = Canary()
    ctx = Context(stack.on(server), canary.url)
    runner = Runner(ctx, canary)
    report.hostile_started(server, ctx.stack.module)
    yield runner
    report.hostile_ended(server)
    canary.stop()


@pytest.mark.parametrize("control", CONTROLS, ids=[c.name for c in CONTROLS])
def test_generator_control_is_accepted(hostile, server, control):
    """The generator's correctly signed output logs in: so a refusal below is the defect's."""
    result = hostile.run(control)
    report.outcomes(server)["controls"].append(result)
    assert result.ok, result.describe()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_response_is_refused(hostile, server, case):
    result = hostile.run(case)
    report.outcomes(server)["cases"].append(result)
    assert result.ok, result.describe()


def test_enough_distinct_cases():
    assert len({c.name for c in CASES}) == len(CASES) >= 40


def test_no_child_crashed(hostile):
    """Over the whole run, in every node's error log (a crash may be logged late): no httpd
    child, no nginx worker ("exited on signal")."""
    time.sleep(0.2)
    found = []
    for node in hostile.ctx.nodes():
        found += crash_lines(node.read_error_log())
    assert not found, "\n".join(found)


# the module's verdict on a Response is the core's, whichever server posted it: once
@pytest.mark.parametrize("server", ["httpd"], indirect=True)
def test_xmlsec_verdict_is_lasso_verdict_on_every_case(hostile, tmp_path):
    """Every case's and control's SAMLResponse verified by the module's path (xmlsec, keys
    loaded once) and by lasso's old pipeline (t/unit/saml_differential): the same verdict
    (accepted, refused, failed) on each, the controls accepted by both."""
    for c in CONTROLS + CASES:  # those not posted above (a test picked by -k)
        if c.name not in hostile.responses:
            hostile.responses[c.name] = saml_response_of(c.build(hostile.ctx))
    names = [n for n, v in hostile.responses.items() if v is not None]
    for n in names:
        (tmp_path / n).write_text(hostile.responses[n])
    subprocess.run(["make", "-s", "-C", str(REPO), "t/unit/saml_differential"], check=True)
    stack = hostile.ctx.stack
    run = subprocess.run([DIFFERENTIAL, stack.keys.sp_key, stack.keys.sp_cert,
                          stack.idp_metadata, stack.entity_id, stack.acs_url,
                          *[tmp_path / n for n in names]],
                         capture_output=True, text=True, timeout=300)
    lines = {Path(line.split("\t")[0]).name: line for line in run.stdout.splitlines()[:-1]}
    assert run.returncode == 0, "\n".join(x for x in lines.values() if "DIFFERENT" in x) \
        + run.stderr
    assert len(names) >= len(CASES) and len(lines) == len(names), run.stdout[-2000:]
    for c in CONTROLS:
        assert "\taccepted\taccepted\t" in lines[c.name], lines[c.name]
