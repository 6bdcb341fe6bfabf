# SPDX-License-Identifier: GPL-2.0-or-later
"""KmenACSBaseURL: the SeP registered at NIA under an entity ID whose host is not where the
portal is reached (https://sep.example.cz/portal here); the ACS, SLO and metadata URLs use
the base URL instead, and the Response's Destination and Recipient must name it."""

import base64

import pytest
import requests
from lxml import etree

from t.hostile.cases import Context, set_root, set_scd
from t.lib import flow
from t.lib.httpd import free_port
from t.lib.stack import Stack

MD = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}
ENTITY_ID = "https://sep.example.cz/portal"


class SeparateHostStack(Stack):
    @property
    def entity_id(self):
        return ENTITY_ID

    def site(self, entity_id=None):
        return super().site(entity_id or ENTITY_ID)


@pytest.fixture(scope="module")
def sep():
    port = free_port()
    with SeparateHostStack(http_port=port,
                           extra=f"KmenACSBaseURL http://localhost:{port}/") as st:
        yield st


def test_endpoints_use_the_base_url(sep, s):
    """The metadata names the entity ID as registered and the endpoints under the base URL
    (its trailing / dropped); the AuthnRequest asks NIA to post there; a login completes."""
    md = etree.fromstring(requests.get(sep.base_url + "/kmen/metadata").content)
    assert md.get("entityID") == ENTITY_ID
    acs = md.xpath("//md:AssertionConsumerService/@Location", namespaces=MD)
    slo = md.xpath("//md:SingleLogoutService/@Location", namespaces=MD)
    assert acs and set(acs) == {sep.acs_url}, acs
    assert slo and set(slo) == {sep.base_url + "/kmen/slo"}, slo
    flow.login(s, sep)
    request = flow.sim_json(s, sep, "/last-request")
    assert request["acs_url"] == sep.acs_url and request["issuer"] == ENTITY_ID
    assert flow.headers_of(s, sep.base_url + "/app/headers.json")


@pytest.mark.parametrize("name,edit", [
    ("Destination", dict(edit_response=set_root("Destination",
                                                "https://sep.example.cz/kmen/acs"))),
    ("Recipient", dict(edit_assertion=set_scd("Recipient", "https://sep.example.cz/kmen/acs")))])
def test_response_to_the_entity_ids_host_is_refused(sep, name, edit):
    """A Response signed by the IdP but addressed to the ACS URL the entity ID's host would
    give is refused: Destination and Recipient are compared with the base URL's."""
    ctx = Context(sep)
    g = ctx.genuine()
    forged = ctx.rebuilt(g, **edit)
    before = sep.count("session")
    r = requests.post(g.acs, data={"SAMLResponse": base64.b64encode(forged.encode()).decode()},
                      headers={"Cookie": g.state}, allow_redirects=False)
    assert r.status_code == 400, r.status_code
    assert sep.count("session") == before
    assert "not this SP's ACS URL" in sep.httpd.read_error_log()
    genuine = requests.post(g.acs, data=g.fields, headers={"Cookie": g.state},
                            allow_redirects=False)
    assert genuine.status_code == 303, f"the genuine Response of {name}'s login was refused"
