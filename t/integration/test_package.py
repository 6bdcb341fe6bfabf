# SPDX-License-Identifier: GPL-2.0-or-later
"""The Debian packages, all three built by one dpkg-buildpackage from a clean copy of the tree.

mod-kmen-common holds what both modules need and no Apache: kmenctl, the documents (README.md
with docs/ beside it, uncompressed), kmenctl(8), the migrations, a daily kmenctl purge and a
kmenctl sync every 15 minutes (a systemd timer, or cron without systemd), both doing nothing
until /etc/default/mod-kmen is configured. It takes these over from libapache2-mod-kmen
before 0.2.0 (Breaks/Replaces); each module package depends on it at its own version and
links its documentation directory to it.

libapache2-mod-kmen, with mod-kmen-common, is installed on this machine's stock apache2,
enabled (apache2ctl configtest must still pass: the shipped kmen.conf keeps its example
directives inside <IfDefine KMEN_CONFIGURED>), disabled and purged again, leaving
/etc/apache2, /var/lib/apache2, /etc/cron.d, /etc/default and the set of installed packages
as they were; installed, mod-kmen-common's files work as they should.

libnginx-mod-http-kmen, with mod-kmen-common and without libapache2-mod-kmen, installed on
this machine's nginx, is enabled as Debian's own libnginx-mod-* packages are
(/etc/nginx/modules-enabled), so that nginx loads the module and accepts its directives, and
kmenctl is there; removed and purged, they leave /etc/nginx as it was.

The build takes about a minute of CPU time (the same before the nginx package: make all
already built the nginx module), so this runs with every `make test`. It needs root and
touches the system's apache2 and nginx configurations for a few seconds: KMEN_TEST_PACKAGE=0
skips it, and an install test skips itself where its package, or any file it ships, is
already installed."""

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from t.lib import REPO

PACKAGE = "libapache2-mod-kmen"
NGINX_PACKAGE = "libnginx-mod-http-kmen"
COMMON_PACKAGE = "mod-kmen-common"
# The version whose mod-kmen-common took kmenctl and the rest over from libapache2-mod-kmen.
MOVED_TO_COMMON = "0.2.0~"
MODULE = Path("/usr/lib/apache2/modules/mod_kmen.so")
LOAD = Path("/etc/apache2/mods-available/kmen.load")
CONF = Path("/etc/apache2/mods-available/kmen.conf")
KMENCTL = Path("/usr/bin/kmenctl")
SQL = Path("/usr/share/mod-kmen/sql")
CRON = Path("/etc/cron.d/mod-kmen")
DEFAULT = Path("/etc/default/mod-kmen")
DOC = Path("/usr/share/doc/mod-kmen-common")
APACHE_DOC = Path("/usr/share/doc/libapache2-mod-kmen")  # links to DOC
UNITS = [Path("/lib/systemd/system/mod-kmen-sync.service"),
         Path("/lib/systemd/system/mod-kmen-sync.timer")]
KMENCTL_MAN = Path("/usr/share/man/man8/kmenctl.8.gz")
MODULE_MAN = Path("/usr/share/man/man8/mod_kmen.8.gz")
COMMON_SHIPPED = [KMENCTL, SQL.parent, CRON, DEFAULT, DOC, KMENCTL_MAN, *UNITS]
SHIPPED = [MODULE, LOAD, CONF, APACHE_DOC, MODULE_MAN, *COMMON_SHIPPED]
NGINX_MODULE = Path("/usr/lib/nginx/modules/ngx_http_kmen_module.so")
NGINX_AVAILABLE = Path("/usr/share/nginx/modules-available/mod-http-kmen.conf")
NGINX_ENABLED = Path("/etc/nginx/modules-enabled/50-mod-http-kmen.conf")
NGINX_DOC = Path("/usr/share/doc/libnginx-mod-http-kmen")  # links to DOC
NGINX_SHIPPED = [NGINX_MODULE, NGINX_AVAILABLE, NGINX_DOC, *COMMON_SHIPPED]
# The nginx ABI that Debian's nginx-dev builds modules for; dh_nginx makes it a dependency.
NGINX_ABI = Path("/usr/share/nginx/src/debian/libnginx-mod.abisubstvars")
# Parts of the source tree that the documents link to but the package does not ship:
# the test and benchmark reports, the code, the migrations (shipped elsewhere, in SQL).
SOURCE_ONLY = {"t", "bench", "core", "apache", "kmenctl", "sql", "debian", "man"}
# What installing and purging may change only for the moment.
WATCHED = [Path("/etc/apache2"), Path("/var/lib/apache2"), Path("/etc/cron.d"),
           Path("/etc/default"), Path("/etc/nginx")]
CACHE_DISABLED_RECORD = Path("/var/lib/apache2/module/disabled_by_maint/socache_shmcb")
TOOLS = ["dpkg-buildpackage", "dpkg-checkbuilddeps", "dh", "dh_apache2", "dh_nginx", "dpkg",
         "dpkg-deb", "apache2ctl", "a2enmod", "a2dismod", "a2query", "nginx", "objdump"]
ENV = dict(os.environ, LC_ALL="C.UTF-8", DEBIAN_FRONTEND="noninteractive")


def run(*cmd, ok=True, timeout=120, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=ENV,
                       timeout=timeout, **kw)
    if ok:
        assert r.returncode == 0, f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r


def package_status(name=PACKAGE):
    """dpkg's status of the package; "" when dpkg has no trace of it (or only a purged one)."""
    r = run("dpkg-query", "-W", "-f=${Status}", name, ok=False)
    status = r.stdout.strip() if r.returncode == 0 else ""
    return "" if status.endswith(" not-installed") else status


def installed_packages():
    out = run("dpkg-query", "-W", "-f=${Package}:${Architecture} ${Version} ${Status}\n").stdout
    return [line for line in out.splitlines() if not line.endswith(" not-installed")]


def snapshot():
    """Every path under WATCHED: what a symlink points to, a file's SHA-256, a directory."""
    state = {}
    for top in WATCHED:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                p = Path(dirpath, name)
                if p.is_symlink():
                    state[str(p)] = "-> " + os.readlink(p)
                elif p.is_dir():
                    state[str(p)] = "dir"
                else:
                    state[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return state


def skip_unless_allowed(package=PACKAGE, shipped=SHIPPED):
    """Skips unless this may build and install packages here and neither PACKAGE (None: any)
    nor mod-kmen-common is installed, nor any of the paths SHIPPED they would install."""
    if os.environ.get("KMEN_TEST_PACKAGE") == "0":
        pytest.skip("KMEN_TEST_PACKAGE=0")
    if os.geteuid() != 0:
        pytest.skip("installing the package needs root")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        pytest.skip(f"missing {', '.join(missing)}: run ./t/install-deps as root")
    for name in (package, COMMON_PACKAGE) if package else ():
        if package_status(name):
            pytest.skip(f"{name} is installed here ({package_status(name)}): not touching it")
    present = [str(p) for p in shipped if os.path.lexists(p)]
    if present:
        pytest.skip(f"{', '.join(present)} already exist(s): not overwriting")


@contextlib.contextmanager
def install_lock():
    """Serialises concurrent runs of this file's install tests (each compares the installed
    packages and the watched directories before and after); a directory lock leaves no file
    behind."""
    fd = os.open("/etc/apache2", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def copy_source(dest):
    """The working tree as `git add -A` would commit it (tracked and new files, local
    changes included, nothing ignored, so no build products); a plain copy outside git,
    which dpkg-buildpackage's clean step (make clean) then cleans."""
    r = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], capture_output=True)
    if r.returncode != 0:
        shutil.copytree(REPO, dest, symlinks=True,
                        ignore=shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache"))
        return
    for name in filter(None, r.stdout.decode().split("\0")):
        src = REPO / name
        if not os.path.lexists(src):  # deleted in the working tree
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / name, follow_symlinks=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{package: its .deb}, and the source tree they were built from."""
    skip_unless_allowed(package=None, shipped=[])
    top = tmp_path_factory.mktemp("package")
    src = top / "mod-kmen"
    copy_source(src)
    r = run("dpkg-checkbuilddeps", ok=False, cwd=src)
    assert r.returncode == 0, f"{r.stderr.strip()}: run ./t/install-deps as root"
    start = time.monotonic()
    r = run("dpkg-buildpackage", "-us", "-uc", "-b", ok=False, cwd=src, timeout=900)
    took = time.monotonic() - start
    assert r.returncode == 0, f"dpkg-buildpackage failed after {took:.0f} s:\n" + \
        "\n".join((r.stdout + r.stderr).splitlines()[-40:])
    print(f"dpkg-buildpackage -b took {took:.1f} s")
    debs = {}
    for package in (PACKAGE, NGINX_PACKAGE, COMMON_PACKAGE):
        found = sorted(top.glob(f"{package}_*.deb"))
        assert len(found) == 1, (package, found)
        debs[package] = found[0]
    return debs, src


def deb_listing(deb):
    """(path, mode, owner, link target or None) of each file, directory and link DEB holds."""
    for line in run("dpkg-deb", "-c", deb).stdout.splitlines():
        mode, owner, _size, _date, _time, name = line.split(None, 5)
        name, _, target = name.partition(" -> ")
        yield name.lstrip(".").rstrip("/") or "/", mode, owner, target or None


def deb_entries(deb):
    """{path: (mode, owner)} of the files, directories and links DEB holds."""
    return {path: (mode, owner) for path, mode, owner, _target in deb_listing(deb)}


def deb_links(deb):
    """{path: target} of the symbolic links DEB holds."""
    return {path: target for path, _mode, _owner, target in deb_listing(deb) if target}


def deb_field(deb, field):
    return run("dpkg-deb", "-f", deb, field).stdout.strip()


def relations(deb, field):
    """{package: the relation as written} of a relation field of DEB (alternatives apart)."""
    return {alternative.strip().split()[0]: alternative.strip()
            for dep in deb_field(deb, field).split(",") if dep.strip()
            for alternative in dep.split("|")}


def documentation_link(deb, package):
    """PACKAGE's documentation directory in DEB: a link to mod-kmen-common's, and nothing
    in it of its own."""
    entries = deb_entries(deb)
    doc = f"/usr/share/doc/{package}"
    assert deb_links(deb).get(doc) == COMMON_PACKAGE, deb_links(deb)
    assert entries[doc][0].startswith("l")
    assert not [p for p in entries if p.startswith(doc + "/")]


def shipped_documents(src):
    """The documents mod-kmen-common ships, relative to its documentation directory."""
    return ["README.md", "conf/kmen.conf",
            *(f"docs/{p.name}" for p in sorted((src / "docs").glob("*.md")))]


def test_common_package_contents(built):
    debs, src = built
    deb = debs[COMMON_PACKAGE]
    entries = deb_entries(deb)
    listing = "\n".join(sorted(entries))
    expected = {str(KMENCTL): "-rwxr-xr-x", str(CRON): "-rw-r--r--", str(DEFAULT): "-rw-r--r--",
                str(KMENCTL_MAN): "-rw-r--r--", f"{DOC}/copyright": "-rw-r--r--",
                f"{DOC}/changelog.gz": "-rw-r--r--"}
    migrations = sorted(p.name for p in (src / "sql").glob("*.sql"))
    assert migrations
    expected.update({f"{SQL}/{name}": "-rw-r--r--" for name in migrations})
    # the documents uncompressed, where their relative links expect each other
    documents = shipped_documents(src)
    expected.update({f"{DOC}/{name}": "-rw-r--r--" for name in documents})
    expected.update({str(unit): "-rw-r--r--" for unit in UNITS})
    # exactly these: the modules and everything of httpd's or nginx's are theirs
    assert {p for p, (mode, _owner) in entries.items() if not mode.startswith("d")} == \
        set(expected), listing
    for path, mode in expected.items():
        assert entries[path] == (mode, "root/root"), path
    assert_links_resolve(src, documents, entries, DOC)

    info = run("dpkg-deb", "-I", deb, "conffiles").stdout.split()
    assert sorted(info) == sorted(map(str, [CRON, DEFAULT]))
    # needs neither server; takes its files over from libapache2-mod-kmen before the move
    depends = relations(deb, "Depends")
    assert not [p for p in depends if re.match(r"apache2|nginx|libapache2|libnginx", p)], depends
    moved = f"{PACKAGE} (<< {MOVED_TO_COMMON})"
    assert (deb_field(deb, "Breaks"), deb_field(deb, "Replaces")) == (moved, moved)
    version = deb_field(deb, "Version")
    run("dpkg", "--compare-versions", version, "ge", MOVED_TO_COMMON)


def test_package_contents(built):
    debs, _src = built
    deb = debs[PACKAGE]
    entries = deb_entries(deb)
    listing = "\n".join(sorted(entries))
    expected = {str(MODULE): "-rw-r--r--", str(LOAD): "-rw-r--r--", str(CONF): "-rw-r--r--",
                str(MODULE_MAN): "-rw-r--r--"}
    assert {p for p, (mode, _owner) in entries.items()
            if not mode.startswith(("d", "l"))} == set(expected), listing
    for path, mode in expected.items():
        assert entries[path] == (mode, "root/root"), path
    documentation_link(deb, PACKAGE)
    assert not [p for p in entries if p.endswith(".la")], "libtool archive shipped"

    info = run("dpkg-deb", "-I", deb, "conffiles").stdout.split()
    assert sorted(info) == sorted(map(str, [CONF, LOAD]))
    depends = relations(deb, "Depends")
    assert "apache2-api-20120211" in depends
    assert depends["liblasso3"] == "liblasso3 (>= 2.7.0)"  # CVE-2021-28091
    # mod-kmen-common of exactly this version: kmenctl and the module share the schema
    assert depends[COMMON_PACKAGE] == f"{COMMON_PACKAGE} (= {deb_field(deb, 'Version')})"


def assert_links_resolve(src, documents, entries, doc):
    """Every relative link of a shipped Markdown document leads to something the package
    ships beside it in DOC, but for links into parts of the source tree it does not ship."""
    checked = 0
    for name in documents:
        if not name.endswith(".md"):
            continue
        text = (src / name).read_text()
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            inside = os.path.normpath(os.path.join(os.path.dirname(name), target))
            assert not inside.startswith(".."), f"{name} links out of the tree: {target}"
            if inside.split("/")[0] in SOURCE_ONLY:
                continue
            assert f"{doc}/{inside}" in entries, f"{name}: {target} is not shipped"
            checked += 1
    assert checked >= 10  # README -> docs/*.md, docs -> each other and ../conf/kmen.conf


def cron_jobs(text):
    """{kmenctl command: (environment, command)} of the job lines of a cron.d file: the daily
    purge and the sync every 15 minutes, both as root."""
    env, jobs = {}, {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^([A-Z_]+)=(.*)$", line)
        if m:
            env[m.group(1)] = m.group(2)
            continue
        minute, hour, day, month, weekday, user, command = line.split(None, 6)
        assert (day, month, weekday, user) == ("*", "*", "*", "root")
        which = re.search(r"/usr/bin/kmenctl (\w+)", command).group(1)
        assert (minute.isdigit() and hour.isdigit()) if which == "purge" else \
            (minute, hour) == ("*/15", "*")
        jobs[which] = command
    assert sorted(jobs) == ["purge", "sync"], jobs
    return {which: (env, command) for which, command in jobs.items()}


def run_cron_job(env, command, default_file=DEFAULT):
    """The job as cron runs it (its SHELL and PATH, no terminal), reading DEFAULT_FILE. PGHOST
    points nowhere: a kmenctl the job ran would fail, and say so, whatever it connects to."""
    command = command.replace(str(DEFAULT), str(default_file))
    return subprocess.run([env["SHELL"], "-c", command], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL,
                          env={"PATH": env["PATH"], "HOME": "/root", "LOGNAME": "root",
                               "PGHOST": "/nonexistent-kmen-socket-dir", "PGCONNECT_TIMEOUT": "5"})


def check_installed_extras(src, tmp_path, module_doc):
    """What mod-kmen-common brings: documents (also through MODULE_DOC, the module package's
    link), manual pages, the purge job, its settings and kmenctl keygen."""
    assert (DOC / "README.md").is_file() and not list(DOC.rglob("*.md.gz"))
    assert module_doc.is_symlink() and module_doc.resolve() == DOC
    assert (module_doc / "docs" / "first-portal.md").is_file()
    assert sorted(p.name for p in (DOC / "docs").glob("*.md")) == \
        sorted(p.name for p in (src / "docs").glob("*.md"))
    r = run("man", "-w", "kmenctl")
    assert r.stdout.strip() == str(KMENCTL_MAN), r.stdout

    # /etc/default/mod-kmen as shipped: every setting commented out, valid for /bin/sh
    settings = [line for line in DEFAULT.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert settings == []
    assert {"#KMEN_PURGE_CONNINFO=", "#KMEN_PURGE_OPTIONS=", "#KMEN_SYNC_CONNINFO=",
            "#KMEN_SYNC_OPTIONS="} <= \
        set(re.findall(r"^#KMEN_[A-Z_]+=", DEFAULT.read_text(), re.M))
    run("sh", "-n", DEFAULT)

    jobs = cron_jobs(CRON.read_text())
    configured = tmp_path / "mod-kmen"
    configured.write_text('KMEN_PURGE_CONNINFO="host=/nonexistent-kmen-socket-dir dbname=kmen"\n'
                          'KMEN_PURGE_OPTIONS="--audit-days 365"\n'
                          'KMEN_SYNC_CONNINFO="host=/nonexistent-kmen-socket-dir dbname=kmen"\n'
                          'KMEN_SYNC_OPTIONS="--key-file /nonexistent/register.key '
                          '--gateway https://127.0.0.1:9/ --gateway-cert /nonexistent.crt"\n')
    for which, (env, command) in jobs.items():
        assert f"/usr/bin/kmenctl {which}" in command and str(DEFAULT) in command
        # The sync job is cron's only where systemd is not running (its timer's otherwise).
        command = command.replace("/run/systemd/system", "/nonexistent-systemd-dir")
        r = run_cron_job(env, command)
        assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r  # idle: ran nothing
        # Configured, the job runs kmenctl: here it fails, and says so on stderr, which cron
        # mails to root; stdout (the counts) goes to the system log.
        r = run_cron_job(env, command, configured)
        assert r.stdout == "" and r.stderr.startswith("kmenctl: "), (which, r)
    assert "/nonexistent-kmen-socket-dir" in run_cron_job(
        *jobs["purge"], configured).stderr
    check_sync_units()

    keys = tmp_path / "kmen"
    r = run(KMENCTL, "keygen", "--host", "portal.example.cz", "--dir", keys)
    assert "KmenSPEntityID https://portal.example.cz/" in r.stdout.splitlines()
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in keys.iterdir()} == \
        {"sp.key": 0o400, "sp.crt": 0o644, "register.key": 0o400}


def check_sync_units():
    """mod-kmen-sync.timer starts mod-kmen-sync.service, which reads /etc/default/mod-kmen and
    runs kmenctl sync only once KMEN_SYNC_CONNINFO is set."""
    service, timer = (unit.read_text() for unit in UNITS)
    assert "EnvironmentFile=-/etc/default/mod-kmen" in service
    condition = re.search(r"^ExecCondition=/bin/sh -c '(.*)'$", service, re.M).group(1)
    start = re.search(r"^ExecStart=/bin/sh -c '(.*)'$", service, re.M).group(1)
    assert "/usr/bin/kmenctl sync" in start
    assert subprocess.run(["sh", "-c", condition], env={}).returncode != 0  # skipped
    assert subprocess.run(["sh", "-c", condition],
                          env={"KMEN_SYNC_CONNINFO": "dbname=kmen"}).returncode == 0
    assert "OnCalendar=*:0/15" in timer and "WantedBy=timers.target" in timer
    if shutil.which("systemd-analyze"):
        run("systemd-analyze", "verify", *UNITS)


def test_install_enable_configtest_remove(built, tmp_path):
    debs, src = built
    deb = debs[PACKAGE]
    repo_modules = [p for p in (REPO / "apache/.libs/mod_kmen.so",
                                src / "apache/.libs/mod_kmen.so") if p.exists()]
    with install_lock():
        skip_unless_allowed()  # again: another run may have installed it meanwhile
        r = run("apache2ctl", "configtest", ok=False)
        if r.returncode != 0:
            pytest.skip(f"apache2ctl configtest fails before installing anything:\n{r.stderr}")
        before, packages_before = snapshot(), installed_packages()
        # kmen.load says "Depends: socache_shmcb": a2enmod enables it along with kmen.
        cache_was_enabled = run("a2query", "-m", "socache_shmcb", ok=False).returncode == 0
        try:
            run("dpkg", "-i", debs[COMMON_PACKAGE], deb, timeout=300)
            for name in (COMMON_PACKAGE, PACKAGE):
                assert package_status(name) == "install ok installed"
                r = run("dpkg", "--verify", name)
                assert r.stdout == "", r.stdout  # every file as packaged

            # Apache loads the packaged module, not a build in some source tree.
            assert MODULE.is_file() and not MODULE.is_symlink()
            assert run("dpkg", "-S", MODULE).stdout.strip() == f"{PACKAGE}: {MODULE}"
            for build in repo_modules:
                assert not MODULE.samefile(build)
            loads = re.findall(r"^\s*LoadModule\s+(\S+)\s+(\S+)", LOAD.read_text(), re.M)
            assert loads == [("kmen_module", str(MODULE))]

            # dh_apache2 enabled it on installation; a2enmod is then a no-op.
            assert run("a2query", "-m", "kmen", ok=False).returncode == 0
            # ...with the session cache provider it depends on (kmen.load: Depends).
            assert run("a2query", "-m", "socache_shmcb", ok=False).returncode == 0
            run("a2enmod", "kmen")
            for name in ("kmen.load", "kmen.conf"):
                link = Path("/etc/apache2/mods-enabled", name)
                assert link.is_symlink() and link.resolve() == Path("/etc/apache2/mods-available", name)

            # On a stock server the enabled, unconfigured module stays idle.
            r = run("apache2ctl", "configtest")
            assert "Syntax OK" in r.stderr + r.stdout
            assert re.search(r"^\s*kmen_module \(shared\)$", run("apache2ctl", "-M").stdout, re.M)
            # ...and it is the guard that keeps it so: the example values, once defined,
            # are refused by the module's own startup checks.
            if not Path("/etc/apache2/kmen").exists():
                r = run("apache2ctl", "-t", "-D", "KMEN_CONFIGURED", ok=False)
                assert r.returncode != 0, r.stdout + r.stderr
                assert "kmen" in (r.stdout + r.stderr).lower(), r.stdout + r.stderr

            r = run(KMENCTL, "--help")
            assert r.stdout.startswith("usage: kmenctl")
            check_installed_extras(src, tmp_path, APACHE_DOC)
            r = run("man", "-w", "mod_kmen")
            assert r.stdout.strip() == str(MODULE_MAN), r.stdout

            run("a2dismod", "kmen")
            assert run("a2query", "-m", "kmen", ok=False).returncode != 0
            run("apache2ctl", "configtest")
            assert "kmen_module" not in run("apache2ctl", "-M").stdout
        finally:
            if run("a2query", "-m", "kmen", ok=False).returncode == 0:
                run("a2dismod", "-q", "kmen", ok=False)
            purge(PACKAGE)
            if not cache_was_enabled:
                run("a2dismod", "-q", "-m", "socache_shmcb", ok=False)
                # ...which leaves its own record, disabled_by_maint/socache_shmcb: this
                # test's doing, not the package's (on a stock apache2 the module was off).
                if str(CACHE_DISABLED_RECORD) not in before:
                    CACHE_DISABLED_RECORD.unlink(missing_ok=True)
            # a2dismod records the admin's choice in /var/lib/apache2/module/disabled_by_admin/;
            # the purge removes the record but not the directory it created.
            for path in sorted(snapshot().keys() - before.keys(), reverse=True):
                with contextlib.suppress(OSError):
                    Path(path).rmdir()  # only new directories, and only when empty

        assert (package_status(), package_status(COMMON_PACKAGE)) == ("", "")
        assert [str(p) for p in SHIPPED if os.path.lexists(p)] == []
        assert_as_before(before, packages_before)
        run("apache2ctl", "configtest")


def purge(package):
    """Purges PACKAGE, then mod-kmen-common, where installed."""
    for name in (package, COMMON_PACKAGE):
        if package_status(name):
            run("dpkg", "--purge", name, timeout=300)


def assert_as_before(before, packages_before):
    """The watched directories as in the snapshot BEFORE, the same packages installed."""
    after = snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], f"left behind or lost: {changed}"
    assert installed_packages() == packages_before


# --- libnginx-mod-http-kmen ----------------------------------------------------------------
def nginx_abi():
    """nginx-abi-<version>, what nginx-dev's modules are built for and depend on."""
    return re.search(r"^nginx:abi=(\S+)$", NGINX_ABI.read_text(), re.M).group(1)


def library_packages(lib):
    """The packages that hold the shared library LIB (a DT_NEEDED name). The file the loader
    finds is often ldconfig's link, which no package ships: its target's name is asked."""
    found = re.search(r"^\s*" + re.escape(lib) + r" \(.*\) => (\S+)$",
                      run("ldconfig", "-p").stdout, re.M)
    assert found, f"the loader does not find {lib}"
    name = os.path.basename(os.path.realpath(found.group(1)))
    out = run("dpkg", "-S", f"*/{name}", ok=False).stdout
    return {package.split(":")[0] for line in out.splitlines() if line.endswith(f"/{name}")
            for package in line.rsplit(": ", 1)[0].split(", ")}


def test_nginx_package_contents(built, tmp_path):
    debs, _src = built
    deb = debs[NGINX_PACKAGE]
    entries = deb_entries(deb)
    # the module and its load file; kmenctl, the documents and the rest are mod-kmen-common's
    files = {str(NGINX_MODULE), str(NGINX_AVAILABLE)}
    assert {p for p, (mode, _owner) in entries.items()
            if not mode.startswith(("d", "l"))} == files
    for path in files:
        assert entries[path] == ("-rw-r--r--", "root/root"), path
    documentation_link(deb, NGINX_PACKAGE)

    root, control = tmp_path / "root", tmp_path / "control"
    run("dpkg-deb", "-x", deb, root)
    run("dpkg-deb", "-e", deb, control)
    # the load_module line of Debian's own modules: relative to nginx's prefix
    assert (root / str(NGINX_AVAILABLE).lstrip("/")).read_text() == \
        "load_module modules/ngx_http_kmen_module.so;\n"
    assert not (control / "conffiles").exists()

    depends = relations(deb, "Depends")
    assert nginx_abi() in depends
    assert depends["liblasso3"] == "liblasso3 (>= 2.7.0)"  # CVE-2021-28091
    assert depends[COMMON_PACKAGE] == f"{COMMON_PACKAGE} (= {deb_field(deb, 'Version')})"
    # nothing of httpd's: an nginx-only host installs no Apache
    for field in ("Depends", "Recommends", "Suggests"):
        assert not [p for p in relations(deb, field) if "apache" in p], field
    # ${shlibs:Depends}: the package of every library the module links
    module = root / str(NGINX_MODULE).lstrip("/")
    needed = re.findall(r"^\s*NEEDED\s+(\S+)$", run("objdump", "-p", module).stdout, re.M)
    assert "liblasso.so.3" in needed
    for lib in needed:
        assert library_packages(lib) & depends.keys(), (lib, library_packages(lib), depends)


# A configuration with the system's modules, as /etc/nginx/nginx.conf loads them, and kmen
# directives of the server level, which need no keys.
KMEN_CONF = """include /etc/nginx/modules-enabled/*.conf;
error_log stderr;
events {{}}
http {{
    access_log off;
    kmen_sp_type {sp_type};
    kmen_endpoint_path /sso;
}}
"""
NO_MODULE = 'unknown directive "kmen_sp_type"'


def nginx_t(conf):
    """nginx -t of the configuration file CONF: (exit status, what nginx said)."""
    r = run("nginx", "-t", "-e", "stderr", "-c", conf, ok=False)
    return r.returncode, r.stdout + r.stderr


def test_nginx_install_load_remove(built, tmp_path):
    debs, src = built
    accepted, refused = tmp_path / "accepted.conf", tmp_path / "refused.conf"
    accepted.write_text(KMEN_CONF.format(sp_type="private"))
    refused.write_text(KMEN_CONF.format(sp_type="municipal"))
    with install_lock():
        skip_unless_allowed(NGINX_PACKAGE, NGINX_SHIPPED)
        rc, out = nginx_t(accepted)
        assert rc != 0 and NO_MODULE in out, out
        stock_passes = nginx_t("/etc/nginx/nginx.conf")[0] == 0
        before, packages_before = snapshot(), installed_packages()
        try:
            run("dpkg", "-i", debs[COMMON_PACKAGE], debs[NGINX_PACKAGE], timeout=300)
            for name in (COMMON_PACKAGE, NGINX_PACKAGE):
                assert package_status(name) == "install ok installed"
                r = run("dpkg", "--verify", name)
                assert r.stdout == "", r.stdout  # every file as packaged
            # kmenctl and the rest without the httpd package
            assert package_status(PACKAGE) == ""
            check_installed_extras(src, tmp_path, NGINX_DOC)

            # enabled on installation, as Debian's own modules are; the load_module line,
            # relative to nginx's prefix (/usr/share/nginx), names the packaged module
            assert NGINX_ENABLED.is_symlink() and NGINX_ENABLED.resolve() == NGINX_AVAILABLE
            assert Path("/usr/share/nginx/modules", NGINX_MODULE.name).resolve() == NGINX_MODULE
            rc, out = nginx_t(accepted)
            assert rc == 0 and "test is successful" in out, out
            # ...and it is the module that reads them
            rc, out = nginx_t(refused)
            assert rc != 0 and '"kmen_sp_type" directive expects public or private' in out, out
            if stock_passes:  # the system's nginx, with the module loaded and unconfigured
                rc, out = nginx_t("/etc/nginx/nginx.conf")
                assert rc == 0, out

            run("dpkg", "--remove", NGINX_PACKAGE, timeout=300)
            assert not os.path.lexists(NGINX_ENABLED)
            rc, out = nginx_t(accepted)
            assert rc != 0 and NO_MODULE in out, out
        finally:
            purge(NGINX_PACKAGE)

        assert (package_status(NGINX_PACKAGE), package_status(COMMON_PACKAGE)) == ("", "")
        assert [str(p) for p in NGINX_SHIPPED if os.path.lexists(p)] == []
        assert_as_before(before, packages_before)
