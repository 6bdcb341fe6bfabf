#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the whole demo site: httpd with mod_kmen on 8080, the NIA simulator on 8081, the
sample portal on 8082, PostgreSQL and the translation gateway beside them. The register is
seeded with kmenctl import-essl (if kmenctl is built): Marie Nováková is a known client.

    /usr/bin/python3 t/demo.py            # then open http://localhost:8080/app/
    /usr/bin/python3 t/demo.py --check    # start, log in by script, stop; exit 0/1

--check logs in twice: Jiří Dvořák must arrive as a new client, Marie Nováková linked to the
very client the eSSL import made for her (without the import the check fails).
"""

import argparse
import signal
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from t.lib import flow, register  # noqa: E402
from t.lib.stack import KMENCTL, Stack  # noqa: E402


def seed_register(stack):
    """Fill the register from a (made-up) eSSL name register, as an authority would before
    its portal opens: Marie Nováková is a known client before she ever logs in, so her first
    NIA login links to her client identifier. The client identifier the import gave her, or
    None if nothing was imported."""
    agenda = "A8566"
    marie_aifo = stack.gateway.seed_aifo(stack.bsi("cz-marie"), agenda)
    rows = [
        (marie_aifo, "Nováková", "Marie", "1955-03-08", "spisovka"),
        # Two clients who never log in during the demo (not in the NIA simulator).
        (stack.gateway.seed_aifo("demo person: Jan Horák", agenda), "Horák", "Jan",
         "1949-12-24", "spisovka"),
        (stack.gateway.seed_aifo("demo person: Alena Veselá", agenda), "Veselá", "Alena",
         "1990-06-15", "evidence-obyvatel"),
    ]
    try:
        r = stack.import_essl(rows, name="essl-demo.csv", agenda=agenda)
    except FileNotFoundError:
        print(f"warning: {KMENCTL} is not built: the register starts empty "
              "(Marie Nováková logs in as a new client)", file=sys.stderr, flush=True)
        return None
    except RuntimeError as e:
        print(f"warning: the eSSL import failed, the register starts empty:\n{e}",
              file=sys.stderr, flush=True)
        return None
    print(f"register seeded from eSSL: kmenctl import-essl {stack.dir / 'essl-demo.csv'} "
          f"({len(rows)} clients, Marie Nováková among them)", flush=True)
    for line in (r.stdout + r.stderr).splitlines():
        print(f"  kmenctl: {line}", flush=True)
    [marie] = register.clients_by_aifo(stack, marie_aifo, agenda)
    return marie


# What --check prints of a login: no secret identifier among them.
SHOWN = ("Kmen-Client-Id", "Kmen-Client-Status", "Kmen-Given-Name", "Kmen-Family-Name")


def login_headers(stack, identity):
    """The headers the portal received after IDENTITY's scripted login."""
    with requests.Session() as s:
        flow.login(s, stack, identity=identity)
        return flow.headers_of(s, stack.base_url + "/app/headers.json")


def shown(h):
    return {name: flow.header(h, name) for name in SHOWN}


def check(stack, marie_client_id):
    if marie_client_id is None:
        raise RuntimeError("the eSSL import failed (see above): Marie Nováková's linked login "
                           "cannot be checked")
    h = login_headers(stack, "cz-jiri")
    assert flow.header(h, "Kmen-Given-Name") == "Ji%C5%99%C3%AD", shown(h)
    assert flow.header(h, "Kmen-Client-Status") == "new", shown(h)
    print("login OK, a new client:", shown(h), flush=True)
    h = login_headers(stack, "cz-marie")
    assert flow.header(h, "Kmen-Client-Status") == "linked", shown(h)
    assert flow.header(h, "Kmen-Client-Id") == marie_client_id, (marie_client_id, shown(h))
    print("known client from eSSL linked on her first login:", shown(h), flush=True)


def serve(stack):
    print(f"Open {stack.base_url}/app/ — pick an identity on the NIA simulator page",
          flush=True)
    print("Ctrl-C stops everything.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="scripted logins (a new and a linked client), then exit")
    args = ap.parse_args()
    try:
        with Stack(http_port=8080, sim_port=8081, portal_port=8082, evidence_port=8083) as stack:
            print(f"translation gateway simulator: {stack.gateway.url} "
                  "(t/sim/gateway.py; KmenTranslatorURL points here)", flush=True)
            marie_client_id = seed_register(stack)
            if args.check:
                check(stack, marie_client_id)
            else:
                serve(stack)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
