# SPDX-License-Identifier: GPL-2.0-or-later
"""The documentation keeps up with the code (no servers needed).

- every directive in kmen_cmds[] (mod_kmen/mod_kmen.c) has a `### Name` section in
  docs/directives.md, no section documents a directive that does not exist, and every
  directive appears in the annotated conf/kmen.conf;
- every log tag (KMEN_LOGNO, KMEN and four digits) used in mod_kmen/*.c is in the table of
  docs/operations.md and every tag of that table is used, no tag is used for two different
  messages, and no line takes a number of httpd's own AH namespace (APLOGNO);
- every header of kmen_identity_fields (mod_kmen/identity.c) is in docs/headers.md;
- no file tracked by git sends readers to notes outside the repository."""

import re
import subprocess
from collections import defaultdict

import pytest

from t.lib import REPO

SOURCES = sorted((REPO / "mod_kmen").glob("*.c"))
DIRECTIVES_MD = REPO / "docs" / "directives.md"
HEADERS_MD = REPO / "docs" / "headers.md"
OPERATIONS_MD = REPO / "docs" / "operations.md"
CONF = REPO / "conf" / "kmen.conf"


def without_comments(c_text):
    """C source with /* */ and // comments blanked (string literals are kept)."""
    out, i, n = [], 0, len(c_text)
    while i < n:
        if c_text[i] == '"':
            j = i + 1
            while j < n and c_text[j] != '"':
                j += 2 if c_text[j] == "\\" else 1
            out.append(c_text[i:j + 1])
            i = j + 1
        elif c_text.startswith("/*", i):
            j = c_text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(" " * (j - i))
            i = j
        elif c_text.startswith("//", i):
            j = c_text.find("\n", i)
            j = n if j < 0 else j
            i = j
        else:
            out.append(c_text[i])
            i += 1
    return "".join(out)


def directive_table():
    """The directive names of kmen_cmds[], in table order."""
    text = without_comments((REPO / "mod_kmen" / "mod_kmen.c").read_text())
    m = re.search(r"command_rec\s+kmen_cmds\s*\[\s*\]\s*=\s*\{(.*?)\{\s*NULL\s*\}", text, re.S)
    assert m, "kmen_cmds[] not found in mod_kmen/mod_kmen.c"
    names = re.findall(r'AP_INIT_[A-Z0-9_]+\s*\(\s*"([^"]+)"', m.group(1))
    assert names, "no AP_INIT_* entries in kmen_cmds[]"
    return names


def documented_directives():
    return re.findall(r"^###\s+(Kmen[A-Za-z0-9]+)\s*$", DIRECTIVES_MD.read_text(), re.M)


# --- (a) directives ---------------------------------------------------------------------

def test_directive_table_is_parsed():
    names = directive_table()
    assert len(names) == len(set(names)), f"a directive is declared twice: {names}"
    assert all(n.startswith("Kmen") for n in names), names
    assert {"KmenSPEntityID", "KmenLoA", "KmenRequestedAttributes"} <= set(names)


def test_every_directive_has_a_section_in_directives_md():
    code, docs = set(directive_table()), documented_directives()
    assert len(docs) == len(set(docs)), "a directive has two sections in docs/directives.md"
    missing = sorted(code - set(docs))
    unknown = sorted(set(docs) - code)
    assert not missing, f"directives without a ### section in docs/directives.md: {missing}"
    assert not unknown, f"docs/directives.md documents directives kmen_cmds[] lacks: {unknown}"


def test_every_directive_appears_in_kmen_conf():
    conf = CONF.read_text()
    # active or commented out, but as a directive at the start of a line
    present = set(re.findall(r"^[ \t]*#?[ \t]*(Kmen[A-Za-z0-9]+)\b", conf, re.M))
    missing = sorted(set(directive_table()) - present)
    assert not missing, f"directives missing from conf/kmen.conf: {missing}"


# --- (b) log tags ----------------------------------------------------------------------------

def log_messages():
    """{"KMENnnnn": {(file, message format), …}} of every KMEN_LOGNO(nnnn) "…" in
    mod_kmen/*.c."""
    found = defaultdict(set)
    pattern = re.compile(r'KMEN_LOGNO\(\s*(\d{4})\s*\)\s*((?:"(?:[^"\\]|\\.)*"\s*)*)')
    for path in SOURCES:
        for number, literals in pattern.findall(without_comments(path.read_text())):
            text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', literals))
            found["KMEN" + number].add((path.name, text))
    return found


def documented_tags():
    """The tags in the first column of docs/operations.md's table of log messages."""
    return re.findall(r"^\|\s*(KMEN\d{4})\s*\|", OPERATIONS_MD.read_text(), re.M)


def test_log_tags_are_found():
    assert len(log_messages()) >= 10


def test_no_log_tag_is_used_for_two_messages():
    duplicates = {n: sorted(uses) for n, uses in log_messages().items()
                  if len({text for _, text in uses}) > 1}
    assert not duplicates, "log tags used for different messages:\n" + "\n".join(
        f"  {n}: " + "; ".join(f"{f}: {t!r}" for f, t in uses)
        for n, uses in sorted(duplicates.items()))


def test_every_log_tag_is_in_operations_md():
    documented = documented_tags()
    assert len(documented) == len(set(documented)), "a tag has two rows in docs/operations.md"
    missing = sorted(set(log_messages()) - set(documented))
    assert not missing, "log tags without a row in docs/operations.md: " + ", ".join(missing)


def test_every_tag_in_operations_md_is_used():
    unused = sorted(set(documented_tags()) - set(log_messages()))
    assert not unused, "docs/operations.md describes tags mod_kmen/*.c never logs: " + \
        ", ".join(unused)


def test_no_line_takes_an_httpd_number():
    """httpd hands out its AH numbers (APLOGNO) to its own next messages."""
    users = [p.name for p in SOURCES if "APLOGNO" in without_comments(p.read_text())]
    assert not users, f"APLOGNO in {users}: tag mod_kmen's lines with KMEN_LOGNO"



# --- (c) headers ---------------------------------------------------------------------------

def identity_header_suffixes():
    text = without_comments((REPO / "mod_kmen" / "identity.c").read_text())
    m = re.search(r"kmen_identity_fields\s*\[\s*\]\s*=\s*\{(.*?)\{\s*NULL", text, re.S)
    assert m, "kmen_identity_fields[] not found in mod_kmen/identity.c"
    fields = re.findall(r'FIELD\(\s*"[^"]*"\s*,\s*"([^"]+)"\s*,\s*"([^"]+)"', m.group(1))
    assert fields, "no FIELD(…) rows in kmen_identity_fields[]"
    return fields


@pytest.mark.parametrize("suffix,env", identity_header_suffixes())
def test_every_identity_header_is_in_headers_md(suffix, env):
    doc = HEADERS_MD.read_text()
    assert re.search(rf"`Kmen-{re.escape(suffix)}`", doc), \
        f"Kmen-{suffix} is not described in docs/headers.md"
    assert re.search(rf"`{re.escape(env)}`", doc), \
        f"the environment variable {env} is not named in docs/headers.md"


# --- (d) the repository stands on its own ---------------------------------------------------

# The notes the project was first planned in are not part of it: a tracked file that sends
# readers to them sends them nowhere. The needles are built from pieces, so that this file
# does not name them itself.
PRIVATE_NOTES = [name + ".md" for name in ("DESIGN", "USE-" + "CASES", "FACTS", "STYLE")]
PRIVATE_NOTES.append(".." + "/shared")

# docs/ is rewritten on the docs branch, which removes these mentions. Until that is merged a
# file here may still name them; once it no longer does, the test says to drop it from here.
NOT_YET_REWRITTEN = {"docs/directives.md"}


def tracked_files():
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True,
                         check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def names_private_notes(path):
    data = (REPO / path).read_bytes() if (REPO / path).is_file() else b""
    return [n for n in PRIVATE_NOTES if n.encode() in data]


def test_no_tracked_file_names_the_private_notes():
    files = tracked_files()
    assert len(files) > 100 and "mod_kmen/log.h" in files, files[:10]
    found = {path: names_private_notes(path) for path in files}
    offending = {p: names for p, names in found.items() if names and p not in NOT_YET_REWRITTEN}
    assert not offending, f"tracked files naming notes outside the repository: {offending}"
    rewritten = sorted(p for p in NOT_YET_REWRITTEN if not found.get(p))
    assert not rewritten, f"{rewritten} no longer name them: drop them from NOT_YET_REWRITTEN"
