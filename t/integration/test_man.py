# SPDX-License-Identifier: GPL-2.0-or-later
"""The manual pages (no servers needed): they render without a single groff warning, as man
shows them on an 80-column terminal; kmenctl(8) describes every command and every option that
`kmenctl --help` and `kmenctl COMMAND --help` name; mod_kmen(8) lists every directive of
kmen_cmds[] (apache/mod_kmen.c), each with the default of the configuration's field lists
(core/conf_fields.h)."""

import os
import re
import shutil
import subprocess

import pytest

from t.integration.test_docs import directive_table, list_fields
from t.lib import REPO
from t.lib.stack import KMENCTL

MAN = REPO / "man"
PAGES = sorted(MAN.glob("*.[1-8]"))


def text_of(page):
    """The page's source with roff's escapes for '-' undone."""
    return page.read_text().replace("\\-", "-")


def test_there_are_two_pages():
    assert [p.name for p in PAGES] == ["kmenctl.8", "mod_kmen.8"]


@pytest.mark.skipif(not shutil.which("man"), reason="man-db is missing: run ./t/install-deps")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_renders_without_warnings(page):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(page)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert len(r.stdout) > 2000  # the page itself, not an empty rendering


def kmenctl_help(*args):
    r = subprocess.run([str(KMENCTL), *args, "--help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def commands():
    listing = kmenctl_help().split("commands:\n", 1)[1]
    return re.findall(r"^  ([a-z-]+) ", listing, re.M)


def sections(page_text):
    """{heading: body} of the page's .SH and .SS sections (a body ends at the next heading;
    consecutive .SS headings share the body that follows them)."""
    found, pending = {}, []
    for part in re.split(r"^(\.S[HS] .*)$", page_text, flags=re.M)[1:]:
        if part.startswith((".SH ", ".SS ")):
            pending.append(part[4:].strip().strip('"'))
        else:
            for heading in pending:
                found[heading] = part
            pending = []
    return found


def test_kmenctl_page_has_every_command_and_option():
    page = text_of(MAN / "kmenctl.8")
    by_heading = sections(page)
    synopsis = re.sub(r"\s+", " ", re.sub(r"^\.\S+ ?", "", by_heading["SYNOPSIS"], flags=re.M))
    common = by_heading["COMMON ARGUMENTS"]
    assert len(commands()) >= 8
    for command in commands():
        usage = kmenctl_help(command).split("\n\n", 1)[0]
        headings = [h for h in by_heading if h.split()[0] == command]
        assert headings, f"kmenctl.8 has no .SS {command} section"
        body = "".join(by_heading[h] + h for h in headings)
        assert f"kmenctl {command}" in synopsis, f"{command} is not in the SYNOPSIS"
        for option in sorted(set(re.findall(r"--[a-z-]+", usage))):
            assert option in body or option in common, \
                f"kmenctl.8 does not describe {command} {option}"
            assert option in synopsis, f"{option} is not in the SYNOPSIS"
    for flag in ("--help", "--version"):
        assert flag in common


def tagged_lines(page_text):
    """The first line of every .TP/.TQ tag, without its font macro and quotes."""
    lines = page_text.splitlines()
    return [re.sub(r'^\.(B|BI|BR|I|IR|IB)\s+', "", lines[i + 1]).replace('"', "")
            for i, line in enumerate(lines[:-1]) if line in (".TP", ".TQ")]


def test_mod_kmen_page_lists_every_directive():
    tags = tagged_lines(text_of(MAN / "mod_kmen.8"))
    listed = {tag.split()[0] for tag in tags}
    missing = [d for d in directive_table() if d not in listed]
    assert not missing, f"mod_kmen.8 lacks {missing}"
    assert "/usr/share/doc/libapache2-mod-kmen/docs/directives.md" in \
        text_of(MAN / "mod_kmen.8")


def directive_entries_of_the_page():
    """{directive: the first line of its description} of mod_kmen(8)'s .TP entries."""
    lines = text_of(MAN / "mod_kmen.8").splitlines()
    entries = {}
    for i, line in enumerate(lines[:-2]):
        m = re.match(r'\.B[IR]?\s+"?(Kmen\w+)', lines[i + 1])
        if line == ".TP" and m:
            entries[m.group(1)] = lines[i + 2]
    return entries


def test_mod_kmen_page_states_the_lists_defaults():
    entries, fields = directive_entries_of_the_page(), list_fields()
    assert entries["KmenClockSkew"] == "default 180."
    bad = [f"{name}: {entries.get(name)!r}, core/conf_fields.h's default is {default}"
           for name, (_, _, default) in sorted(fields.items()) if default is not None
           and not re.match(rf"default {re.escape(default)}([.\s]|$)", entries.get(name, ""))]
    assert not bad, "mod_kmen.8:\n" + "\n".join(bad)
