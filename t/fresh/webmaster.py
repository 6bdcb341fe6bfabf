#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A webmaster's first portal, exactly as the installed guide tells it, on a disposable machine.

Runs the ```sh blocks of the installed guide of the server chosen (--server): for httpd
/usr/share/doc/libapache2-mod-kmen/docs/first-portal.md, for nginx the section "Your first
portal on nginx" of /usr/share/doc/libnginx-mod-http-kmen/docs/nginx.md (the copy the
packages install, not the checkout's: read from the package files before the guide's first
block installs them, and compared with the installed file afterwards) in order, as root, each
as `sh -e`, from a directory holding the package files; then logs a person in twice through
the portal the guide built and checks that the second login finds the client the first one
made. The nginx portal is also checked to have been built without the httpd package. Meant
for make test-fresh (t/fresh/run), never for a machine anyone uses: it installs packages,
writes /etc/hosts, and configures the system's apache2 or nginx, and PostgreSQL.

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

    /usr/bin/python3 t/fresh/webmaster.py --server httpd \
        --deb PATH/mod-kmen-common_VERSION_ARCH.deb PATH/libapache2-mod-kmen_VERSION_ARCH.deb
    /usr/bin/python3 t/fresh/webmaster.py --server nginx \
        --deb PATH/mod-kmen-common_VERSION_ARCH.deb PATH/libnginx-mod-http-kmen_VERSION_ARCH.deb
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from t.lib import flow  # noqa: E402
from t.lib.keys import self_signed, signed_by_ca  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PORTAL = "portal.example.cz"
GATEWAY_HOST = "gateway.example.cz"
NIA_METADATA = "https://tnia.identita.gov.cz/FPSTS/FederationMetadata/2007-06/FederationMetadata.xml"
GATEWAY_URL = f"https://{GATEWAY_HOST}/v1"
SIM_PORT, GATEWAY_PORT = 18081, 18443
SIM_URL = f"http://127.0.0.1:{SIM_PORT}"
PYTHON = "/usr/bin/python3"


@dataclass(frozen=True)
class Server:
    """What differs between the two guides."""
    guide: Path          # the installed guide
    section: str         # where in it the guide starts (a heading), "" for the whole file
    translator: Path     # the directory of the gateway's client certificate (step 5)
    protected: str       # the URL path the guide protects, whose page shows the identity
    status: str          # the page's names of the client's status and ID
    client_id: str
    identity: str        # who logs in (each server's own: both portals share one database)
    without: str         # a package the portal must not have needed ("" none)

    def needs_client_cert(self, block):
        """Whether BLOCK is the one of step 5 that expects the gateway operator's answer."""
        return f"chown root:www-data {self.translator}/client.crt" in block


SERVERS = {
    "httpd": Server(Path("/usr/share/doc/libapache2-mod-kmen/docs/first-portal.md"), "",
                    Path("/etc/apache2/kmen/translator"), "/secure",
                    "KMEN_CLIENT_STATUS", "KMEN_CLIENT_ID", "cz-jiri", ""),
    "nginx": Server(Path("/usr/share/doc/libnginx-mod-http-kmen/docs/nginx.md"),
                    "## Your first portal on nginx", Path("/etc/nginx/kmen/translator"),
                    "/app/", "Kmen-Client-Status", "Kmen-Client-Id", "cz-marie",
                    "libapache2-mod-kmen"),
}


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


def answer_csr(work, keys, translator):
    """The gateway operator's part of step 5: a clientAuth certificate for client.csr in
    TRANSLATOR, and the CA certificate that issued the gateway's."""
    ext = work / "client.ext"
    ext.write_text("extendedKeyUsage=clientAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", translator / "client.csr",
                    "-CA", keys["ca"][1], "-CAkey", keys["ca"][0], "-CAcreateserial",
                    "-days", "30", "-sha256", "-extfile", ext,
                    "-out", translator / "client.crt"], check=True, capture_output=True)
    shutil.copy(keys["ca"][1], translator / "ca.crt")


def packaged_guide(debs, work, server):
    """SERVER's guide as the package files hold it (the module package's documentation
    directory is a link into mod-kmen-common's)."""
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", deb, work / "deb"], check=True)
    return (work / "deb" / server.guide.relative_to("/")).read_text()


def guide_section(guide, server):
    """The part of GUIDE that is SERVER's guide: from its heading to the next of its level."""
    if not server.section:
        return guide
    start = guide.find(f"\n{server.section}\n")
    if start < 0:
        raise SystemExit(f"{server.guide} has no {server.section!r}: change this script too")
    end = guide.find("\n## ", start + 1)
    return guide[start:end if end >= 0 else len(guide)]


def guide_parts(guide):
    """The guide up to its test login, and from there: the person logs in between the two."""
    m = re.search(r"^(## |\*\*).*test login", guide, flags=re.M)
    if not m:
        raise SystemExit("the guide has no section on the test login: change this script too")
    return sh_blocks(guide[:m.start()]), sh_blocks(guide[m.start():])


def follow_guide(blocks, cwd, work, keys, server, first=1):
    """BLOCKS in order, numbered from FIRST; the gateway operator answers when step 5 needs
    it. Their outputs, joined."""
    out = ""
    for number, block in enumerate(blocks, first):
        if server.needs_client_cert(block):
            answer_csr(work, keys, server.translator)
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


def login(server):
    """The test login in a new browser: the values the guide's test page shows (NAME=VALUE or
    NAME: VALUE lines), as a dict."""
    s = portal_session()
    loc = flow.start(s, f"https://{PORTAL}{server.protected}")
    assert loc.startswith(SIM_URL), f"not sent to NIA: {loc}"
    ticket, _ = flow.idp_page(s, loc)
    acs, fields = flow.respond(s, ticket, identity=server.identity)
    r = flow.post_acs(s, acs, fields)
    assert r.status_code == 303, f"ACS answered {r.status_code}: {r.text[:300]}"
    page = s.get(flow.location(r), allow_redirects=False)
    assert page.status_code == 200, \
        f"{server.protected} answered {page.status_code}: {page.text[:300]}"
    return dict(re.findall(r"^([\w-]+)(?:=|: )(.*)$", page.text, flags=re.M))


def check_logins(server):
    """The first login makes a client (through the gateway); the second finds the same."""
    first, second = login(server), login(server)
    print(f"first login: {first.get(server.status)}, second: {second.get(server.status)}",
          flush=True)
    assert first.get(server.status) == "new", first
    assert second.get(server.status) == "returning", second
    assert first[server.client_id] and first[server.client_id] == second[server.client_id], \
        (first, second)


def check_without(server):
    """The portal was built without the package SERVER must not need."""
    if not server.without:
        return
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", server.without],
                       capture_output=True, text=True)
    assert r.returncode != 0 or r.stdout.endswith(" not-installed"), \
        f"{server.without} is installed ({r.stdout}): the guide needed it"


def check_logs(out):
    """What the guide's last section shows after the two logins: the server's log lines of
    them, and the audit rows."""
    assert out.count("login: origin nia") >= 2, "the error log shows fewer than two logins"
    rows = re.findall(r"^\((\d+) rows?\)$", out, flags=re.M)
    assert rows and int(rows[-1]) >= 2, "the audit log shows fewer than two rows"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, choices=sorted(SERVERS),
                    help="whose guide to follow")
    ap.add_argument("--deb", required=True, type=Path, nargs="+",
                    help="the package files the guide installs")
    args = ap.parse_args()
    server = SERVERS[args.server]
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    work = Path(tempfile.mkdtemp(prefix="kmen-webmaster-"))
    cwd = work / "install"
    cwd.mkdir()
    for deb in args.deb:
        shutil.copy(deb, cwd)
    keys = make_standins(work)
    resolve_hosts()
    children = start_simulators(work, keys)
    try:
        subprocess.run(["service", "postgresql", "start"], check=True)  # as a booted server has
        guide = packaged_guide(args.deb, work, server)
        setup, afterwards = guide_parts(guide_section(guide, server))
        if not any(server.needs_client_cert(block) for block in setup):
            raise SystemExit("the guide no longer installs the gateway's client certificate "
                             "as this script expects: change both together")
        follow_guide(setup, cwd, work, keys, server)
        assert server.guide.read_text() == guide, \
            f"{server.guide} is not the guide the packages hold"
        check_without(server)
        register_at_nia(work)
        check_health()
        check_logins(server)
        check_logs(follow_guide(afterwards, cwd, work, keys, server, first=len(setup) + 1))
    finally:
        for child in children:
            child.terminate()
    print(f"webmaster ({args.server}): the installed guide took a fresh machine to two logins",
          flush=True)


if __name__ == "__main__":
    main()
