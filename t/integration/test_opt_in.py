# SPDX-License-Identifier: GPL-2.0-or-later
"""Response headers that change the register count only where the location opted in:
Kmen-Link-System with KmenAcceptLinkSystem On, Kmen-Evidence-Request with
KmenAcceptEvidenceRequest On. /app/ of the test site has both; /high/ has neither, so the
same portal pages behind it change nothing (a proxied third-party service cannot write to
the register)."""

from t.lib import flow
from t.lib import register as kmen


def client_id(s, stack, base):
    r = s.get(stack.base_url + base + "/headers.json")
    assert r.status_code == 200, r.text[:300]
    return flow.header(r.json(), "Kmen-Client-Id")


def test_link_system_needs_the_opt_in(stack, s):
    flow.login(s, stack, identity="cz-jiri", loa="high", path="/high/")
    cid = client_id(s, stack, "/high")
    before = kmen.systems(stack, cid)
    r = s.get(stack.base_url + "/high/link", params={"system": "not-opted-in"},
              allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    assert not [k for k in r.headers if k.lower() == "kmen-link-system"], dict(r.headers)
    assert kmen.systems(stack, cid) == before
    assert "Kmen-Link-System ignored: KmenAcceptLinkSystem is Off for /high/link" in \
        stack.httpd.read_error_log()
    # the same page where the location opted in does link the system
    r = s.get(stack.base_url + "/app/link", params={"system": "opted-in"},
              allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    assert "opted-in" in kmen.systems(stack, cid)


def test_evidence_request_needs_the_opt_in(stack, s):
    flow.login(s, stack, identity="cz-jiri", loa="high", path="/high/")
    before = stack.count("evidence")
    r = s.get(stack.base_url + "/high/evidence-request",
              params={"type": "birth-certificate", "country": "DE"}, allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    assert not [k for k in r.headers if k.lower() == "kmen-evidence-request"], dict(r.headers)
    assert stack.count("evidence") == before
    assert "Kmen-Evidence-Request ignored: KmenAcceptEvidenceRequest is Off for " \
        "/high/evidence-request" in stack.httpd.read_error_log()
