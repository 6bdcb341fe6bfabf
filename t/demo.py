#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the whole demo site: httpd with mod_kmen on 8080, the NIA simulator on 8081, the
sample portal on 8082, PostgreSQL and the translation gateway beside them.

    /usr/bin/python3 t/demo.py            # then open http://localhost:8080/app/
    /usr/bin/python3 t/demo.py --check    # start, log in once by script, stop; exit 0/1
"""

import argparse
import signal
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from t.lib import flow  # noqa: E402
from t.lib.stack import Stack  # noqa: E402


def check(stack):
    with requests.Session() as s:
        flow.login(s, stack, identity="cz-jiri")
        h = flow.headers_of(s, stack.base_url + "/app/headers.json")
    assert flow.header(h, "Kmen-Given-Name") == "Ji%C5%99%C3%AD", h
    print("login OK:", {k: v for k, v in h.items() if k.lower().startswith("kmen-")})


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
    ap.add_argument("--check", action="store_true", help="one scripted login, then exit")
    args = ap.parse_args()
    try:
        with Stack(http_port=8080, sim_port=8081, portal_port=8082) as stack:
            if args.check:
                check(stack)
            else:
                serve(stack)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
