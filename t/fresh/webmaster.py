#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A webmaster's first portal, exactly as the installed guide tells it, on a disposable machine.

Runs the ```sh blocks of /usr/share/doc/libapache2-mod-kmen/docs/first-portal.md (the copy the
package installs, not the checkout's: read from the package file before the guide's first block
installs it, and compared with the installed file afterwards) in order, as root, each as `sh -e`, from a directory
holding the package file; then logs a person in twice through the portal the guide built and
checks that the second login finds the client the first one made. Meant for make test-fresh
(t/fresh/run), never for a machine anyone uses: it installs packages, writes /etc/hosts, and
configures the system's apache2 and PostgreSQL.

NIA, the translation gateway and the people at both are what this machine cannot reach, so
the simulators stand in for them (t/sim/nia_idp.py, t/sim/gateway.py), and this script does by
hand what their operators would do:
  - the guide's three site values are replaced: the host names portal.example.cz and
    gateway.example.cz resolve to 127.0.0.1 (/etc/hosts); NIA's test metadata URL becomes the
    simulator's; the gateway's base URL gets the simulator's port and path;
  - the gateway operator signs the portal's client.csr (step 5 of the guide) with the
    simulator's CA and hands back client.crt and ca.crt;
  - "registering the portal at NIA" (step 8) hands the portal's metadata to the simulator.
Any of these that no longer fits the guide (a block it expects is gone) fails the run: the
guide and this script change together.

    /usr/bin/python3 t/fresh/webmaster.py --deb PATH/libapache2-mod-kmen_VERSION_ARCH.deb
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from t.lib import flow  # noqa: E402
from t.lib.keys import self_signed, signed_by_ca  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GUIDE = Path("/usr/share/doc/libapache2-mod-kmen/docs/first-portal.md")
PORTAL = "portal.example.cz"
GATEWAY_HOST = "gateway.example.cz"
NIA_METADATA = "https://tnia.identita.gov.cz/FPSTS/FederationMetadata/2007-06/FederationMetadata.xml"
GATEWAY_URL = f"https://{GATEWAY_HOST}/v1"
SIM_PORT, GATEWAY_PORT = 18081, 18443
SIM_URL = f"http://127.0.0.1:{SIM_PORT}"
TRANSLATOR = Path("/etc/apache2/kmen/translator")
# The block of step 5 that expects the gateway operator's answer to be in place.
NEEDS_CLIENT_CERT = re.compile(r"chown root:www-data /etc/apache2/kmen/translator/client\.crt")
PYTHON = "/usr/bin/python3"


def sh_blocks(text):
    """The ```sh blocks of a Markdown text, in order."""
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.S | re.M)


def site_values(block):
    """BLOCK with the guide's site values replaced by this machine's stand-ins."""
    return (block.replace(NIA_METADATA, f"{SIM_URL}/metadata")
            .replace(GATEWAY_URL, f"https://{GATEWAY_HOST}:{GATEWAY_PORT}"))


def run_block(number, block, cwd):
    """One block, as a root shell would run it pasted in, but stopping at its first failure."""
    print(f"--- guide block {number}:\n{block}", flush=True)
    r = subprocess.run(["sh", "-e", "-c", block], cwd=cwd, text=True, capture_output=True)
    print(r.stdout + r.stderr, flush=True)
    if r.returncode != 0:
        raise SystemExit(f"guide block {number} failed with exit {r.returncode}")
    return r.stdout


def make_standins(work):
    """Keys of NIA's and the gateway's stand-ins: the gateway's server certificate is for
    gateway.example.cz, issued by the CA that also signs the portal's client certificate."""
    keys = {name: (work / f"{name}-key.pem", work / f"{name}-cert.pem")
            for name in ("idp", "wrong", "ca")}
    for name, cn in (("idp", "NIA simulator"), ("wrong", "not NIA"), ("ca", "gateway CA")):
        # NIA's signing certificate: /kmen/health is degraded within 30 days of its end
        self_signed(*keys[name], cn, days=400 if name == "idp" else 30)
    keys["gateway"] = signed_by_ca(work, "gateway", GATEWAY_HOST, *keys["ca"],
                                   f"subjectAltName=DNS:{GATEWAY_HOST}\n"
                                   "extendedKeyUsage=serverAuth")
    return keys


def resolve_hosts():
    """The two host names of the guide, on this machine (DNS would do it on a real one)."""
    with open("/etc/hosts", "a") as hosts:
        hosts.write(f"127.0.0.1\t{PORTAL} {GATEWAY_HOST}\n")


def start_simulators(work, keys):
    """NIA's and the gateway's stand-ins, logging into WORK; the processes."""
    nia = [PYTHON, REPO / "t/sim/nia_idp.py", "--port", SIM_PORT, "--base-url", SIM_URL,
           "--key", keys["idp"][0], "--cert", keys["idp"][1],
           "--wrong-key", keys["wrong"][0], "--wrong-cert", keys["wrong"][1],
           "--sp-metadata-file", work / "sp-metadata.xml",
           "--metadata-out", work / "idp-metadata.xml"]
    gateway = [PYTHON, REPO / "t/sim/gateway.py", "--port", GATEWAY_PORT,
               "--cert", keys["gateway"][1], "--key", keys["gateway"][0], "--ca", keys["ca"][1]]
    children = [subprocess.Popen(list(map(str, argv)), stdout=open(work / f"{name}.log", "w"),
                                 stderr=subprocess.STDOUT)
                for name, argv in (("nia", nia), ("gateway", gateway))]
    wait_for(lambda: (work / "idp-metadata.xml").exists(), "the NIA simulator's metadata")
    return children


def wait_for(ready, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not there after {timeout} s")
        time.sleep(0.2)


def answer_csr(work, keys):
    """The gateway operator's part of step 5: a clientAuth certificate for client.csr, and
    the CA certificate that issued the gateway's."""
    ext = work / "client.ext"
    ext.write_text("extendedKeyUsage=clientAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", TRANSLATOR / "client.csr",
                    "-CA", keys["ca"][1], "-CAkey", keys["ca"][0], "-CAcreateserial",
                    "-days", "30", "-sha256", "-extfile", ext,
                    "-out", TRANSLATOR / "client.crt"], check=True, capture_output=True)
    shutil.copy(keys["ca"][1], TRANSLATOR / "ca.crt")


def packaged_guide(deb, work):
    """The guide as the package file holds it."""
    subprocess.run(["dpkg-deb", "-x", deb, work / "deb"], check=True)
    return (work / "deb" / GUIDE.relative_to("/")).read_text()


def guide_parts(guide):
    """The guide up to its test login, and from there: the person logs in between the two."""
    m = re.search(r"^## .*test login", guide, flags=re.M)
    if not m:
        raise SystemExit("the guide has no section on the test login: change this script too")
    return sh_blocks(guide[:m.start()]), sh_blocks(guide[m.start():])


def follow_guide(blocks, cwd, work, keys, first=1):
    """BLOCKS in order, numbered from FIRST; the gateway operator answers when step 5 needs
    it. Their outputs, joined."""
    out = ""
    for number, block in enumerate(blocks, first):
        if NEEDS_CLIENT_CERT.search(block):
            answer_csr(work, keys)
        out += run_block(number, site_values(block), cwd)
    return out


def portal_session():
    s = requests.Session()
    s.verify = False  # the guide's virtual host has Debian's self-signed snakeoil certificate
    return s


def register_at_nia(work):
    """Step 8: NIA reads the portal's metadata from its metadata URL."""
    r = portal_session().get(f"https://{PORTAL}/kmen/metadata", timeout=10)
    assert r.status_code == 200, f"/kmen/metadata answered {r.status_code}"
    (work / "sp-metadata.xml").write_bytes(r.content)


def check_health():
    r = portal_session().get(f"https://{PORTAL}/kmen/health", timeout=10)
    print(f"/kmen/health: {r.status_code} {r.text}", flush=True)
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text


def login(identity):
    """Step 9 in a new browser: the values the guide's test page shows, as a dict."""
    s = portal_session()
    loc = flow.start(s, f"https://{PORTAL}/secure")
    assert loc.startswith(SIM_URL), f"not sent to NIA: {loc}"
    ticket, _ = flow.idp_page(s, loc)
    acs, fields = flow.respond(s, ticket, identity=identity)
    r = flow.post_acs(s, acs, fields)
    assert r.status_code == 303, f"ACS answered {r.status_code}: {r.text[:300]}"
    page = s.get(flow.location(r), allow_redirects=False)
    assert page.status_code == 200, f"/secure answered {page.status_code}: {page.text[:300]}"
    return dict(line.split("=", 1) for line in page.text.splitlines() if "=" in line)


def check_logins():
    """The first login makes a client (through the gateway); the second finds the same."""
    first, second = login("cz-jiri"), login("cz-jiri")
    print(f"first login: {first.get('KMEN_CLIENT_STATUS')}, "
          f"second: {second.get('KMEN_CLIENT_STATUS')}", flush=True)
    assert first.get("KMEN_CLIENT_STATUS") == "new", first
    assert second.get("KMEN_CLIENT_STATUS") == "returning", second
    assert first["KMEN_CLIENT_ID"] == second["KMEN_CLIENT_ID"], (first, second)


def check_logs(out):
    """What the guide's last section shows after the two logins: httpd's lines of them, and
    the audit rows."""
    assert out.count("login: origin nia") >= 2, "the error log shows fewer than two logins"
    rows = re.findall(r"^\((\d+) rows?\)$", out, flags=re.M)
    assert rows and int(rows[-1]) >= 2, "the audit log shows fewer than two rows"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deb", required=True, type=Path, help="the package file to install")
    args = ap.parse_args()
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    work = Path(tempfile.mkdtemp(prefix="kmen-webmaster-"))
    cwd = work / "install"
    cwd.mkdir()
    shutil.copy(args.deb, cwd)
    keys = make_standins(work)
    resolve_hosts()
    children = start_simulators(work, keys)
    try:
        subprocess.run(["service", "postgresql", "start"], check=True)  # as a booted server has
        guide = packaged_guide(args.deb, work)
        setup, afterwards = guide_parts(guide)
        if not any(NEEDS_CLIENT_CERT.search(block) for block in setup):
            raise SystemExit("the guide no longer installs the gateway's client certificate "
                             "as this script expects: change both together")
        follow_guide(setup, cwd, work, keys)
        assert GUIDE.read_text() == guide, f"{GUIDE} is not the guide the package holds"
        register_at_nia(work)
        check_health()
        check_logins()
        check_logs(follow_guide(afterwards, cwd, work, keys, first=len(setup) + 1))
    finally:
        for child in children:
            child.terminate()
    print("webmaster: the installed guide took a fresh machine to two logins", flush=True)


if __name__ == "__main__":
    main()
