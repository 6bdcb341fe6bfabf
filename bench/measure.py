# SPDX-License-Identifier: GPL-2.0-or-later
"""Measuring tools of `make bench`: wrk, the machine's other load, openssl speed, timed ACS
posts, callgrind and perf (the memory checkpoints are in memory.py)."""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

TICK = os.sysconf("SC_CLK_TCK")
BUSY_LIMIT = 0.35   # cores used by other processes that make a figure suspect


# --- who else is using the CPUs ----------------------------------------------------------

def _stat(pid):
    """(ppid, utime + stime in ticks, command name) of PID, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        rest = text.rsplit(")", 1)[1].split()
        return int(rest[1]), int(rest[11]) + int(rest[12]), text[text.index("(") + 1:
                                                                  text.rindex(")")]
    except (OSError, IndexError, ValueError):
        return None


def _processes():
    out = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            s = _stat(p.name)
            if s:
                out[int(p.name)] = s
    return out


def _cpu_ticks():
    """(user + nice + system, all) ticks of the whole machine."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return f[0] + f[1] + f[2], sum(f[:8])


class Meter:
    """CPU the benchmark's own processes use and what everything else on the machine uses
    meanwhile ("foreign", in cores): other sessions' tests must not hide in our figures.
    ROOTS() gives PIDs whose process trees are ours besides this process (PostgreSQL's
    postmaster is not our child). A thread samples the process table every 0.25 s, so
    processes that end during the measurement (PostgreSQL backends, wrk) are counted up to
    their last sample."""

    def __init__(self, roots=lambda: []):
        self.roots = roots
        self.thread = None

    def _sample(self):
        procs = _processes()
        children = {}
        for pid, (ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        todo, seen = [os.getpid(), *self.roots()], set()
        while todo:
            pid = todo.pop()
            if pid in seen or pid not in procs:
                continue
            seen.add(pid)
            todo.extend(children.get(pid, []))
        for pid, (_, ticks, name) in procs.items():
            if pid in seen:
                self.mine[pid] = ticks
            else:
                self.others[pid] = (ticks, name)

    def _run(self):
        while not self.done.wait(0.25):
            self._sample()

    def start(self):
        self.mine, self.others = {}, {}
        self._sample()
        self.mine0 = dict(self.mine)
        self.others0 = {pid: v[0] for pid, v in self.others.items()}
        self.t0 = time.monotonic()
        self.cpu0 = _cpu_ticks()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join()
        seconds = time.monotonic() - self.t0
        busy1, _ = _cpu_ticks()
        self._sample()
        mine = sum(t - self.mine0.get(pid, 0) for pid, t in self.mine.items())
        foreign = max(busy1 - self.cpu0[0] - mine, 0)
        self.seconds = seconds
        self.mine_cores = mine / TICK / seconds
        self.foreign_cores = foreign / TICK / seconds
        used = sorted(((t - self.others0.get(pid, 0), name, pid)
                       for pid, (t, name) in self.others.items()), reverse=True)
        self.top_others = ", ".join(f"{name}[{pid}] {ticks / TICK / seconds:.2f}"
                                    for ticks, name, pid in used[:2]
                                    if ticks / TICK / seconds >= 0.05)
        return self


def loadavg():
    return Path("/proc/loadavg").read_text().split()[0]


def quiet(meter, log, what, limit=BUSY_LIMIT, wait=60):
    """Sample 2 s while our servers idle; wait (at most WAIT s) until other processes use
    less than LIMIT cores. (load average, foreign cores, top other processes, seconds
    waited) at the start of the measurement."""
    t0 = time.monotonic()
    while True:
        m = meter.start()
        time.sleep(2)
        m.stop()
        if m.foreign_cores < limit or time.monotonic() - t0 > wait:
            break
        log(f"  [{what}: other processes use {m.foreign_cores:.2f} cores "
            f"({m.top_others}; load {loadavg()}); waiting]")
    return loadavg(), m.foreign_cores, m.top_others, time.monotonic() - t0 - 2


# --- wrk ---------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def wrk(url, headers, threads=2, conns=32, seconds=10):
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    r = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60)
    out = r.stdout
    if r.returncode:
        raise RuntimeError(f"wrk failed: {r.stderr}{out}")
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
           "requests": int(re.search(r"(\d+) requests in", out).group(1)),
           "non2xx3xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1]),
           "errors": sum(int(x) for x in re.findall(
               r"(?:connect|read|write|timeout) (\d+)", out)),
           "threads": threads, "conns": conns, "seconds": seconds}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = _ms(m.group(1)) if m else None
    return res


class AccessLog:
    """Status codes the server logged since the last mark(): proof that wrk's requests were
    answered as meant (a 303 to the login would count as success for wrk)."""

    def __init__(self, path):
        self.path, self.offset = Path(path), 0

    def mark(self):
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def statuses(self):
        counts = {}
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            for line in f:
                m = re.search(rb'" (\d{3}) ', line)
                key = m.group(1).decode() if m else "?"
                counts[key] = counts.get(key, 0) + 1
        self.mark()
        return counts


# --- openssl speed -----------------------------------------------------------------------

def openssl_speed(seconds=3, multi=None):
    """RSA-2048 private-key (sign) and public-key (verify) operations per second."""
    args = ["openssl", "speed", "-seconds", str(seconds)]
    if multi:
        args += ["-multi", str(multi)]
    r = subprocess.run([*args, "rsa2048"], capture_output=True, text=True, timeout=120)
    lines = re.findall(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", r.stdout, re.M)
    if not lines:
        raise RuntimeError(f"openssl speed: no rsa 2048 line:\n{r.stdout}{r.stderr}")
    sign, verify = lines[-1]
    return {"sign": float(sign), "verify": float(verify), "multi": multi or 1}


# --- timed POSTs to an ACS ---------------------------------------------------------------

class Posted:
    def __init__(self):
        self.ok = self.bad = 0
        self.statuses = {}
        self.latencies = []
        self.lock = threading.Lock()

    def add(self, status, ok, seconds):
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(seconds)
            if ok:
                self.ok += 1
            else:
                self.bad += 1


def post_all(server, logins, concurrency, session_cookie, per_connection=None):
    """POST every pre-generated login (acs_url, fields, cookie) to SERVER's ACS over
    CONCURRENCY keep-alive connections, each opened anew after PER_CONNECTION logins if
    given; (wall seconds, Posted). A login counts as done when the ACS redirects and sets
    SESSION_COOKIE."""
    done = Posted()
    slices = [logins[i::concurrency] for i in range(concurrency)]
    start = threading.Barrier(concurrency + 1)

    def worker(items):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        start.wait()
        for i, (acs, fields, cookie) in enumerate(items):
            if per_connection and i and i % per_connection == 0:
                conn.close()
            body = urlencode(fields)
            headers = {"Host": f"localhost:{server.port}", "Cookie": cookie,
                       "Content-Type": "application/x-www-form-urlencoded"}
            t = time.monotonic()
            try:
                conn.request("POST", urlsplit(acs).path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                cookies = " ".join(v for k, v in resp.getheaders() if k.lower() == "set-cookie")
                ok = resp.status in (302, 303) and f"{session_cookie}=" in cookies
                done.add(resp.status, ok, time.monotonic() - t)
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                done.add("error", False, time.monotonic() - t)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.close()

    threads = [threading.Thread(target=worker, args=(s,)) for s in slices]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    return time.monotonic() - t0, done


def get_many(port, path, headers, count):
    """COUNT sequential keep-alive GETs; the statuses seen."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    seen = {}
    for _ in range(count):
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        seen[resp.status] = seen.get(resp.status, 0) + 1
    conn.close()
    return seen


# --- callgrind ---------------------------------------------------------------------------

def single_process(web):
    """(argv of WEB, a t/lib Httpd or Nginx, as one process serving every request, its
    directory): httpd -X, nginx without its master."""
    if web.NAME == "nginx":
        return web.command("-g", "master_process off;"), web.dir
    return ["/usr/sbin/apache2", "-X", "-d", str(web.dir), "-f", str(web.conf)], web.dir


def _stop_profiled(proc, port):
    """SIGTERM, so that callgrind writes the profile. A single-process nginx that took the
    signal outside its event loop notices it only when an event wakes the loop: a connection
    is that event. SIGKILL (no profile) only if neither ends it."""
    proc.send_signal(signal.SIGTERM)
    for seconds in (3, 90):
        try:
            proc.wait(seconds)
            return
        except subprocess.TimeoutExpired:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            except OSError:
                pass
    proc.kill()
    proc.wait()


def _callgrind_once(web, path, headers, count, tag, action=None):
    """Run WEB as a single process (single_process) under callgrind, send COUNT GETs of
    PATH (or call ACTION()), stop it. (profile file, statuses or what ACTION returned)."""
    from t.lib.httpd import wait_for_port
    argv, web_dir = single_process(web)
    out_dir = Path(web_dir) / "callgrind"
    out_dir.mkdir(exist_ok=True)
    os.chmod(out_dir, 0o777)  # httpd -X writes the profile after switching to www-data
    out = out_dir / f"callgrind.{tag}"
    log = out_dir / f"valgrind.{tag}.log"
    # callgrind opens its output as root at start and writes it as www-data at exit
    out.write_bytes(b"")
    os.chmod(out, 0o666)
    with open(log, "wb") as err:
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                                 *argv],
                                stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
    try:
        if not wait_for_port(web.port, 180, lambda: proc.poll() is None):
            raise RuntimeError(f"{argv[0]} under callgrind did not start: "
                               + log.read_text(errors="replace")[-2000:])
        seen = action() if action else get_many(web.port, path, headers, count)
    finally:
        _stop_profiled(proc, web.port)
    if not out.stat().st_size:
        raise RuntimeError(f"callgrind wrote no profile: {log.read_text(errors='replace')[-1500:]}")
    return out, seen


def _functions(profile, inclusive=False):
    """{(function, object): Ir} of every function in a callgrind profile, exclusive or
    inclusive cost."""
    args = ["callgrind_annotate", "--threshold=100"]
    if inclusive:
        args.append("--inclusive=yes")
    r = subprocess.run([*args, str(profile)],
                       capture_output=True, text=True, timeout=600)
    funcs, total = {}, 0
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*?)\s*$", line)
        if not m:
            continue
        ir, rest = int(m.group(1).replace(",", "")), m.group(2)
        if rest.startswith("PROGRAM TOTALS"):
            total = ir
            continue
        fm = re.match(r"(.*?):(\S+)(?: \[(.*)\])?$", rest)
        if fm:
            obj = Path(fm.group(3)).name if fm.group(3) else Path(fm.group(1)).name
            key = (fm.group(2), obj)
            funcs[key] = funcs.get(key, 0) + ir
    return total, funcs


def callgrind_per_request(web, path, headers, warmup, count):
    """Instructions per request of WEB as a single process under callgrind, as the
    difference of two runs (WARMUP requests, then WARMUP + COUNT): start-up and shutdown
    cancel out. (Ir per request, statuses of the long run, [(Ir per request, function,
    object)] exclusive, the same inclusive), costliest first."""
    short, _ = _callgrind_once(web, path, headers, warmup, "short")
    long_, seen = _callgrind_once(web, path, headers, warmup + count, "long")
    t_short, f_short = _functions(short)
    t_long, f_long = _functions(long_)
    per_request = (t_long - t_short) / count
    return per_request, seen, _diff(f_long, f_short, count), \
        _diff(_functions(long_, True)[1], _functions(short, True)[1], count)


def callgrind_posts(web, main_port, logins, session_cookie, tag):
    """POST pre-generated LOGINS one by one to the ACS of WEB (httpd -X) under callgrind (Host:
    the main node, whose AuthnRequests they answer). (total Ir, {function: Ir} exclusive,
    the same inclusive, logins that succeeded)."""
    def action():
        conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=300)
        ok = 0
        for acs, fields, cookie in logins:
            conn.request("POST", urlsplit(acs).path, body=urlencode(fields), headers={
                "Host": f"localhost:{main_port}", "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            resp.read()
            cookies = " ".join(v for k, v in resp.getheaders() if k.lower() == "set-cookie")
            ok += resp.status in (302, 303) and f"{session_cookie}=" in cookies
        conn.close()
        return ok
    profile, ok = _callgrind_once(web, None, None, 0, tag, action)
    total, excl = _functions(profile)
    return total, excl, _functions(profile, True)[1], ok


RSA_SCRIPT = """
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
for i in range(int(sys.argv[2])):
    key.sign(b"%d" % i, padding.PKCS1v15(), hashes.SHA256())
"""


def callgrind_rsa(key_pem, work_dir, python="/usr/bin/python3"):
    """What one RSA-2048 private-key operation costs in callgrind's instruction count
    (valgrind's CPU has no AVX-512, so OpenSSL takes another code path than natively):
    (first operation on a freshly loaded key, each further one)."""
    work_dir = Path(work_dir)
    script = work_dir / "rsa_ops.py"
    script.write_text(RSA_SCRIPT)
    ir = {}
    for n in (5, 25):
        out = work_dir / f"callgrind.rsa{n}"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python,
                        str(script), str(key_pem), str(n)], capture_output=True, timeout=300,
                       check=True)
        ir[n] = _functions(out, True)[1].get(("RSA_private_encrypt", "libcrypto.so.3"), 0)
    warm = (ir[25] - ir[5]) / 20
    return ir[5] - 4 * warm, warm


def _diff(long_, short, count):
    rows = [((ir - short.get(k, 0)) / count, *k) for k, ir in long_.items()]
    rows.sort(reverse=True)
    return rows


def by_object(rows):
    """[(Ir, object)] from exclusive [(Ir, function, object)], costliest first."""
    out = {}
    for ir, _, obj in rows:
        out[obj] = out.get(obj, 0) + ir
    return sorted(((ir, obj) for obj, ir in out.items()), reverse=True)


# --- perf --------------------------------------------------------------------------------

class Perf:
    """perf record of the whole machine (cpu-clock) while a measurement runs."""

    def __init__(self, path):
        self.path = Path(path)
        self.proc = None

    def start(self):
        if not shutil.which("perf"):
            return self
        self.proc = subprocess.Popen(
            ["perf", "record", "-a", "-e", "cpu-clock", "-F", "499", "-o", str(self.path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        time.sleep(0.5)
        return self

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self

    def report(self, sort, comm=None, limit=12, relative=False):
        """[(percent, key...)] of perf report --sort SORT, optionally only for COMM
        (RELATIVE: percentages of that process's samples)."""
        if not self.proc or not self.path.exists():
            return []
        args = ["perf", "report", "-i", str(self.path), "--stdio", "--no-children",
                "--sort", sort, "--percent-limit", "0.5"]
        if comm:
            args += ["--comms", comm]
        if relative:
            args += ["--percentage", "relative"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        rows = []
        for line in r.stdout.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            m = re.match(r"\s*([\d.]+)%\s+(.*)$", line)
            if m:
                rows.append((float(m.group(1)), *re.split(r"\s{2,}", m.group(2).strip())))
            if len(rows) >= limit:
                break
        return rows
