#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make test-valgrind: the primary httpd of the whole test stack (PostgreSQL, NIA simulator,
portal, translation gateway) runs as a single process (httpd -X) under valgrind memcheck.
One complete login through the NIA simulator (a new client: the translation gateway is
asked), REQUESTS authenticated GETs of /app/ with /kmen/health and /kmen/metadata among
them, a single logout through the simulator; then httpd is stopped with SIGTERM so that
valgrind writes its leak summary. Meanwhile httpd fetches the simulator's metadata every
3 seconds (KmenIdPMetadataURL, KmenIdPMetadataRefresh 3: the fetcher thread), and since each
copy is new (NIA's carries a new ID each time) the process swaps its IdP metadata and lasso
servers at its next request (saml_reload.c): both run many times under memcheck.

Passes when memcheck reports no error and nothing "definitely lost" (suppressions:
t/valgrind/kmen.supp, leaks inside the libraries only, each with its reason; together
they may hide fewer than SUPPRESSED_BLOCKS_MAX blocks). Prints a figures line per run.

--compare N first runs the same walk with N requests: the heap still in use at exit (what
libraries keep reachable: caches, lists) must not grow with the number of requests by more
than GROWTH_PER_REQUEST_MAX bytes per request. httpd's pools are destroyed at exit, so
memory piling up in a long-lived pool is not measured by either check.

The valgrind logs stay in build/valgrind/ (memcheck-REQUESTS.log); with an error there,
its stacks and --gen-suppressions entries are in that log. KMEN_VALGRIND_ARGS adds options
(e.g. "--show-leak-kinds=all" to see what is still reachable at exit).
"""

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import requests  # noqa: E402

from t.lib import REPO, flow  # noqa: E402
from t.lib.httpd import MODULE_SO  # noqa: E402
from t.lib.stack import Stack  # noqa: E402

SUPP = REPO / "t" / "valgrind" / "kmen.supp"
OUT = REPO / "build" / "valgrind"
ERROR_EXIT = 99  # valgrind's exit status when memcheck found an error
# Under memcheck httpd starts in 5-10 s here (lasso's GLib types, OpenSSL, libxml2) and the
# leak check at exit takes a few seconds; two busy cores can make both far slower.
START_TIMEOUT = 240.0
STOP_TIMEOUT = 240.0
# Every Nth authenticated request is followed by the two public endpoints.
ENDPOINTS_EVERY = 100
# Library leaks t/valgrind/kmen.supp may hide in one run, all suppressions together: the
# walk has one login and one logout (a handful of blocks); a leak per request would hide
# at least one block per authenticated request.
SUPPRESSED_BLOCKS_MAX = 20
# --compare: bytes the heap left at exit may grow per extra request (a leak of one small
# block per request is at least 16 bytes plus malloc's header).
GROWTH_PER_REQUEST_MAX = 8


def memcheck_command(log):
    return ["valgrind", "--tool=memcheck", f"--error-exitcode={ERROR_EXIT}",
            "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--track-origins=no", "--num-callers=30",
            # At exit valgrind runs glibc's __libc_freeres, which unmaps every dlopen'ed
            # library (even mod_kmen's NODELETE ones): their static pointers vanish and the
            # one-time allocations of lasso_init()/xmlSecInit() they held would be reported
            # as "definitely lost". Without it those stay "still reachable", as they are.
            "--run-libc-freeres=no",
            # Name the frames of modules httpd unloads at exit (mod_mpm_event); no vgdb
            # FIFOs in /tmp (made as root, httpd -X as www-data could not remove them).
            "--keep-debuginfo=yes", "--vgdb=no", "-s",
            f"--suppressions={SUPP}", "--gen-suppressions=all", f"--log-file={log}",
            *os.environ.get("KMEN_VALGRIND_ARGS", "").split()]


def walk(stack, n_requests):
    """Login, N_REQUESTS GETs of /app/ (plus the public endpoints), logout. What was sent."""
    base = stack.base_url
    sent = {"login": 0, "app": 0, "health": 0, "metadata": 0, "logout": 0}
    with requests.Session() as s:
        flow.login(s, stack, identity="cz-jiri")
        sent["login"] += 1
        for i in range(1, n_requests + 1):
            r = s.get(base + "/app/", allow_redirects=False)
            assert r.status_code == 200, f"/app/ request {i}: {r.status_code} {r.text[:300]}"
            assert "Kmen-Client-Id" in r.text, f"/app/ request {i}: no Kmen-Client-Id"
            sent["app"] += 1
            if i % ENDPOINTS_EVERY == 0 or i == n_requests:
                r = s.get(base + "/kmen/health")
                assert r.status_code == 200, f"/kmen/health: {r.status_code} {r.text[:300]}"
                sent["health"] += 1
                r = s.get(base + "/kmen/metadata")
                assert r.status_code == 200 and "EntityDescriptor" in r.text, \
                    f"/kmen/metadata: {r.status_code} {r.text[:300]}"
                sent["metadata"] += 1
        # single logout: /kmen/logout -> the sim, which posts its unsigned LogoutResponse
        # to /kmen/slo as NIA does -> ReturnTo
        back, fields = flow.auto_post_form(flow.logout_at_sim(s, stack, "/public/"))
        assert back == base + "/kmen/slo", f"the sim sent the logout to {back}"
        r = flow.post_acs(s, back, fields)
        assert urlsplit(flow.location(r)).path == "/public/", r.headers.get("Location")
        r = s.get(base + "/app/", allow_redirects=False)
        assert flow.location(r).startswith(stack.sso_url), "the session survived the logout"
        sent["logout"] += 1
    return sent


def used_suppressions(text):
    """{suppression name: leaked blocks it hid} from the -s list at the end of the log."""
    used = {}
    for m in re.finditer(r"used_suppression: +\d+ (\S+) \S+ suppressed: [\d,]+ bytes in "
                         r"([\d,]+) blocks", text):
        used[m.group(1)] = used.get(m.group(1), 0) + int(m.group(2).replace(",", ""))
    return used


def number(pattern, text):
    """The integer(s) PATTERN captures in TEXT (thousands separators dropped), or None."""
    m = re.search(pattern, text)
    if not m:
        return None
    values = [int(g.replace(",", "")) for g in m.groups()]
    return values if len(values) > 1 else values[0]


def parse_log(text):
    """{errors, lost_bytes, lost_blocks, in_use} of a memcheck log; None where absent."""
    lost = number(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    if lost is None and "All heap blocks were freed" in text:
        lost = [0, 0]
    return {"errors": number(r"ERROR SUMMARY: ([\d,]+) errors", text),
            "lost_bytes": lost[0] if lost else None, "lost_blocks": lost[1] if lost else None,
            "in_use": number(r"in use at exit: ([\d,]+) bytes", text)}


def run(n_requests):
    """One stack with httpd -X under memcheck; a dict of figures."""
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"memcheck-{n_requests}.log"
    log.unlink(missing_ok=True)
    t0 = time.monotonic()
    httpd_opts = dict(wrapper=memcheck_command(log), single_process=True,
                      start_timeout=START_TIMEOUT, stop_timeout=STOP_TIMEOUT)
    stack = Stack(primary_httpd=httpd_opts)
    stack.extra = f"KmenIdPMetadataURL {stack.sim_url}/metadata\nKmenIdPMetadataRefresh 3"
    # httpd -X is its own child: it drops to www-data, the fetcher thread with it, so the
    # directory of the metadata file (the simulator's) must be www-data's to rename into.
    simdir = stack.dir / "sim"
    simdir.mkdir(mode=0o755)
    shutil.chown(simdir, user="www-data")
    status = failure = reloads = None
    try:
        stack.start()
        started = time.monotonic()
        sent = walk(stack, n_requests)
        walked = time.monotonic()
        reloads = stack.httpd.read_error_log().count("KMEN0645:")
        # SIGTERM: httpd -X exits through exit(), valgrind checks for leaks and writes
        # its summary. Httpd.stop() kills after STOP_TIMEOUT: keep the exit status first.
        proc = stack.httpd.proc
        stack.httpd.stop()
        status = proc.returncode
    except BaseException as e:
        failure = e
    finally:
        httpd_logs = stack.httpd.read_error_log()[-3000:] if stack.httpd else ""
        stack.stop()
    text = log.read_text(errors="replace") if log.exists() else ""
    if failure is not None:
        print(f"test-valgrind: the run with {n_requests} requests failed: {failure!r}",
              file=sys.stderr)
        print(f"httpd error log (end):\n{httpd_logs}", file=sys.stderr)
        print(f"valgrind log (end):\n{text[-6000:]}", file=sys.stderr)
        raise failure
    return {**parse_log(text), "requests": n_requests, "sent": sent,
            "suppressed": used_suppressions(text), "status": status, "log": log,
            "reloads": reloads,
            "startup": started - t0, "walk": walked - started,
            "total": time.monotonic() - t0}


def figures(r):
    sent = r["sent"]
    others = sent["health"] + sent["metadata"]
    return (f"valgrind memcheck, httpd -X: {r['errors']} errors, definitely lost "
            f"{r['lost_bytes']} bytes in {r['lost_blocks']} blocks, {r['in_use']} bytes in use "
            f"at exit; 1 login + {sent['app']} authenticated requests + {others} "
            f"health/metadata + 1 logout; {r['reloads']} IdP metadata swaps; httpd startup {r['startup']:.0f} s, requests "
            f"{r['walk']:.0f} s, run {r['total']:.0f} s (log {r['log'].relative_to(REPO)})"
            + "".join(f"\n  suppressed library leak {name}: {blocks} blocks"
                      for name, blocks in sorted(r["suppressed"].items())))


def problems(r):
    """What is wrong with one run, as sentences."""
    bad = []
    if r["errors"] is None or r["lost_bytes"] is None:
        bad.append(f"{r['log']}: no error or leak summary (did httpd exit cleanly?)")
    elif r["errors"] or r["lost_bytes"]:
        bad.append(f"{r['log']}: {r['errors']} errors, {r['lost_bytes']} bytes definitely "
                   "lost: the stacks are in the log")
    hidden = sum(r["suppressed"].values())
    if hidden >= SUPPRESSED_BLOCKS_MAX:
        bad.append(f"{r['log']}: the suppressions hid {hidden} leaked blocks (fewer than "
                   f"{SUPPRESSED_BLOCKS_MAX} expected): a library leak per request?")
    if not r["reloads"]:
        bad.append(f"{r['log']}: httpd never swapped in a fetched IdP metadata file (KMEN0645)")
    if r["status"] not in (0, ERROR_EXIT):
        bad.append(f"{r['log']}: httpd exited with status {r['status']}")
    return bad


def growth(short, long_):
    """Compare the heap left at exit by a short and a long run; (sentence, problem or None)."""
    if short["in_use"] is None or long_["in_use"] is None:
        return "no heap summary to compare", "a run wrote no heap summary"
    extra = long_["requests"] - short["requests"]
    grew = long_["in_use"] - short["in_use"]
    line = (f"heap in use at exit: {short['in_use']} bytes after {short['requests']} "
            f"requests, {long_['in_use']} after {long_['requests']} ({grew:+d} bytes for "
            f"{extra} more requests)")
    if grew > GROWTH_PER_REQUEST_MAX * extra:
        return line, (f"the heap left at exit grew by {grew} bytes over {extra} requests: "
                      "memory kept per request (see --show-leak-kinds=all)")
    return line, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000,
                    help="authenticated requests after the login (default 1000)")
    ap.add_argument("--compare", type=int, metavar="N",
                    help="first a run with N requests: the heap left at exit must not grow "
                         "with the number of requests")
    args = ap.parse_args()
    if not MODULE_SO.exists():
        sys.exit(f"{MODULE_SO} is missing: build the module first (make)")
    if not shutil.which("valgrind"):
        sys.exit("valgrind is missing: t/install-deps installs it")
    # GLib's slice allocator keeps freed blocks in its own magazines: memcheck would see
    # neither the frees nor reuse. Plain malloc lets it check GLib's (and lasso's) memory.
    os.environ["G_SLICE"] = "always-malloc"
    os.environ["G_DEBUG"] = "gc-friendly"

    t0 = time.monotonic()
    sizes = ([args.compare] if args.compare is not None else []) + [args.requests]
    runs = [run(n) for n in sizes]
    bad = []
    for r in runs:
        print(figures(r))
        bad += problems(r)
    if len(runs) == 2:
        line, problem = growth(*runs)
        print(line)
        bad += [problem] if problem else []
    took = time.monotonic() - t0
    if bad:
        print("test-valgrind FAILED:\n  " + "\n  ".join(bad), file=sys.stderr)
        sys.exit(1)
    print(f"test-valgrind: no memcheck error, nothing definitely lost ({took:.0f} s)")


if __name__ == "__main__":
    main()
