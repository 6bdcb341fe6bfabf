# SPDX-License-Identifier: GPL-2.0-or-later
"""The documentation keeps up with the code (no servers needed).

- every directive in kmen_cmds[] (apache/mod_kmen.c) has a `### Name` section in
  docs/directives.md, no section documents a directive that does not exist, and every
  directive appears in the annotated conf/kmen.conf;
- every directive in kmen_cmds[] sets the field of the configuration's lists
  (core/conf_fields.h) that names it, and every directive of the lists is in kmen_cmds[];
  the default docs/directives.md states for it (quick reference and section), the one its
  help text states and the value conf/kmen.conf shows are the list's, as the core computes
  it (t/unit/conf_defaults);
- every log tag (KMEN_LOGNO, KMEN and four digits) used in core/*.c and apache/*.c is in the table of
  docs/operations.md and every tag of that table is used, no tag is used for two different
  messages, and no line takes a number of httpd's own AH namespace (APLOGNO);
- every header of kmen_identity_fields (core/identity.c) is in docs/headers.md;
- every httpd snippet of README.md and docs/*.md survives copy-paste (no comment after a
  directive, no LoadModule of a module Debian enables with a2enmod), and every relative link
  and #anchor between them resolves;
- the commands of docs/first-portal.md and of docs/nginx.md's "Your first portal on nginx"
  are valid shell and name nothing site-specific but their three placeholders;
- docs/gateway.md documents exactly the endpoints (and request members) that
  core/translate.c calls and t/sim/gateway.py serves;
- no file tracked by git sends readers to notes outside the repository."""

import ast
import functools
import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from t.lib import REPO, source, sources

SOURCES = sources()
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
    text = without_comments(source("mod_kmen.c").read_text())
    m = re.search(r"command_rec\s+kmen_cmds\s*\[\s*\]\s*=\s*\{(.*?)\{\s*NULL\s*\}", text, re.S)
    assert m, "kmen_cmds[] not found in apache/mod_kmen.c"
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


# --- (a2) directives and the configuration's field lists --------------------------------------

def directive_entries():
    """{name: (SERVER_SLOT or DIR_SLOT, field, help text)} of kmen_cmds[]; the field None
    when cmd->info is not a SERVER_SLOT(field) or DIR_SLOT(field)."""
    text = without_comments(source("mod_kmen.c").read_text())
    body = re.search(r"command_rec\s+kmen_cmds\s*\[\s*\]\s*=\s*\{(.*?)\{\s*NULL\s*\}", text,
                     re.S).group(1)
    entries = {}
    for entry in re.split(r"\bAP_INIT_[A-Z0-9_]+\s*\(", body)[1:]:
        literals = re.findall(r'"((?:[^"\\]|\\.)*)"', entry)
        slot = re.match(r'\s*"[^"]+"\s*,\s*\w+\s*,\s*(SERVER_SLOT|DIR_SLOT)\(\s*(\w+)\s*\)', entry)
        entries[literals[0]] = (slot.group(1), slot.group(2)) if slot else (None, None)
        entries[literals[0]] += ("".join(literals[1:]),)
    return entries


@functools.lru_cache(maxsize=None)
def list_fields():
    """{directive: (scope, field, default)} of t/unit/conf_defaults: the lists' fields that a
    directive sets, scope "server" or "dir", the default as the docs spell it or None."""
    subprocess.run(["make", "-s", "-C", str(REPO), "t/unit/conf_defaults"], check=True)
    out = subprocess.run([str(REPO / "t" / "unit" / "conf_defaults")], capture_output=True,
                         text=True, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows and all(len(row) == 4 for row in rows), out
    return {directive: (scope, field, default or None) for scope, field, directive, default in rows}


def states(text, default):
    """Whether TEXT (a docs cell or line) states DEFAULT: it starts with `DEFAULT`; or, with
    no default, with no `value` at all (none, required, a description)."""
    first = re.match(r"`([^`]*)`", text.strip())
    return first is None if default is None else bool(first) and first.group(1) == default


def quick_reference_defaults():
    """{directive: its default cell} of docs/directives.md's quick reference."""
    return dict(re.findall(r"^\|\s*\[(Kmen\w+)\]\(#\w+\)\s*\|[^|]*\|\s*(.*?)\s*\|\s*$",
                           DIRECTIVES_MD.read_text(), re.M))


def section_defaults():
    """{directive: the text after "**Default:**"} of docs/directives.md's ### sections."""
    found = {}
    for section in re.split(r"^### ", DIRECTIVES_MD.read_text(), flags=re.M)[1:]:
        m = re.match(r"(Kmen\w+)\s*\n(?:.*\n)*?\* \*\*Default:\*\* (.*)", section)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def test_the_field_lists_are_read():
    fields = list_fields()
    assert fields["KmenSPEntityID"] == ("server", "sp_entity_id", None)
    assert fields["KmenClockSkew"] == ("server", "clock_skew", "180")
    assert fields["KmenLoA"] == ("dir", "min_loa", "substantial")
    assert fields["KmenCookieName"][2] == "__Host-kmen_session"
    entries = directive_entries()
    assert entries["KmenSPEntityID"][:2] == ("SERVER_SLOT", "sp_entity_id")
    assert "(default 180)" in entries["KmenClockSkew"][2]
    assert states("`180` (three minutes)", "180") and not states("`60`", "180")
    assert states("none; required with `KmenSPEncryptionKeyFile`", None)
    assert not states("`5`", None)


def test_every_directive_sets_its_field_of_the_lists():
    """cmd->info names the field the handler writes: it is the lists' field of that name."""
    fields, bad = list_fields(), []
    scopes = {"SERVER_SLOT": "server", "DIR_SLOT": "dir"}
    for name, (slot, field, _) in directive_entries().items():
        if slot is None:
            bad.append(f"{name}: cmd->info is not SERVER_SLOT(field) or DIR_SLOT(field)")
        elif name not in fields:
            bad.append(f"{name}: no field of core/conf_fields.h names this directive")
        elif fields[name][:2] != (scopes[slot], field):
            bad.append(f"{name}: sets {scopes[slot]} {field}, the lists name "
                       f"{fields[name][0]} {fields[name][1]}")
    missing = sorted(set(fields) - set(directive_entries()))
    assert not bad, "\n".join(bad)
    assert not missing, f"directives of core/conf_fields.h missing from kmen_cmds[]: {missing}"


def test_directives_md_states_the_lists_defaults():
    fields, table, sections = list_fields(), quick_reference_defaults(), section_defaults()
    bad = []
    for name, (_, _, default) in sorted(fields.items()):
        want = f"`{default}`" if default is not None else "no value (none, required, ...)"
        for where, docs in (("quick reference", table), ("### section", sections)):
            if name not in docs:
                bad.append(f"{name}: no default in docs/directives.md's {where}")
            elif not states(docs[name], default):
                bad.append(f"{name}: docs/directives.md's {where} says {docs[name]!r}, "
                           f"core/conf_fields.h {want}")
    assert not bad, "\n".join(bad)


def test_kmen_conf_shows_the_lists_defaults():
    """conf/kmen.conf: "Values shown are the defaults unless marked example"; the directives
    it sets (not commented out) to a value are, where the lists have a default, set to it."""
    fields = list_fields()
    shown = re.findall(r"^[ \t]*(Kmen\w+)[ \t]+(\S+)[ \t]*$", CONF.read_text(), re.M)
    bad = [f"{name} {value}: core/conf_fields.h's default is {fields[name][2]}"
           for name, value in shown
           if fields.get(name, (None, None, None))[2] not in (None, value)]
    assert len(shown) > 20
    assert not bad, "conf/kmen.conf:\n" + "\n".join(bad)


def test_directive_help_states_the_lists_default():
    """What `httpd -L` prints: a "default X" in a directive's help is the list's."""
    fields = list_fields()
    bad = [f"{name}: help says default {said!r}, core/conf_fields.h {fields[name][2]!r}"
           for name, (_, _, help_text) in directive_entries().items()
           for said in re.findall(r"\bdefault ([^\s,;:)]+)", help_text)
           if name in fields and said != fields[name][2]]
    assert not bad, "\n".join(bad)


# --- (b) log tags ----------------------------------------------------------------------------

def log_messages():
    """{"KMENnnnn": {(file, message format), …}} of every KMEN_LOGNO(nnnn) "…" in
    core/*.c and apache/*.c."""
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
    assert not unused, "docs/operations.md describes tags core/*.c and apache/*.c never logs: " + \
        ", ".join(unused)


def test_no_line_takes_an_httpd_number():
    """httpd hands out its AH numbers (APLOGNO) to its own next messages."""
    users = [p.name for p in SOURCES if "APLOGNO" in without_comments(p.read_text())]
    assert not users, f"APLOGNO in {users}: tag mod_kmen's lines with KMEN_LOGNO"



# --- (c) headers ---------------------------------------------------------------------------

def identity_header_suffixes():
    text = without_comments(source("identity.c").read_text())
    m = re.search(r"kmen_identity_fields\s*\[\s*\]\s*=\s*\{(.*?)\{\s*NULL", text, re.S)
    assert m, "kmen_identity_fields[] not found in core/identity.c"
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


# --- (d) README.md and docs/*.md: snippets that survive copy-paste, links that resolve ------

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FIRST_PORTAL = REPO / "docs" / "first-portal.md"
NGINX_MD = REPO / "docs" / "nginx.md"
NGINX_PORTAL = "## Your first portal on nginx"
GATEWAY_MD = REPO / "docs" / "gateway.md"
MODS_AVAILABLE = Path("/etc/apache2/mods-available")
# The three site-specific values of docs/first-portal.md; the guide is also run by a test
# that substitutes exactly these strings.
PORTAL_HOST = "portal.example.cz"
NIA_METADATA_URL = ("https://tnia.identita.gov.cz/FPSTS/FederationMetadata/2007-06/"
                    "FederationMetadata.xml")
GATEWAY_URL = "https://gateway.example.cz/v1"


def fenced_blocks(text):
    """(language, line number, body) of every ``` block; an indented block (in a list item)
    loses its indentation."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = re.match(r"( *)```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, start, body = len(m.group(1)), i + 1, []
        i += 1
        while i < len(lines) and not re.match(r" *```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        assert i < len(lines), f"a ``` block opened on line {start} is never closed"
        blocks.append((m.group(2), start, "\n".join(body)))
        i += 1
    return blocks


def prose(text):
    """TEXT without its fenced blocks and inline code spans."""
    out, inside = [], False
    for line in text.split("\n"):
        if re.match(r" *```", line):
            inside = not inside
        elif not inside:
            out.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def apache_snippets():
    """(where, text) of every piece of httpd configuration in README.md and docs/*.md: the
    ```apache blocks, and what a ```sh block writes with a heredoc into /etc/apache2/."""
    found = []
    for doc in DOCS:
        for lang, line, body in fenced_blocks(doc.read_text()):
            where = f"{doc.relative_to(REPO)}:{line}"
            if lang == "apache":
                found.append((where, body))
            elif lang == "sh":
                found += [(f"{where} ({target})", text) for target, text in re.findall(
                    r"cat > (/etc/apache2/\S+) <<'EOF'\n(.*?)\nEOF$", body, re.S | re.M)]
    return found


def trailing_comment(line):
    """The part of a directive line from an unquoted ' #' on (httpd reads it as more
    arguments, not as a comment), or None."""
    if line.lstrip().startswith("#"):
        return None
    quoted = False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c == "#" and not quoted and i and line[i - 1] in " \t":
            return line[i:]
    return None


def modules_debian_ships():
    """The module names of LoadModule lines in Debian's mods-available, and mod_kmen's own
    (conf/kmen.load, which the package installs there)."""
    loads = sorted(MODS_AVAILABLE.glob("*.load"))
    assert len(loads) > 50, f"{MODS_AVAILABLE}: Debian's apache2 is not installed"
    texts = [p.read_text() for p in loads] + [(REPO / "conf" / "kmen.load").read_text()]
    return {name for t in texts for name in re.findall(r"^\s*LoadModule\s+(\S+)", t, re.M)}


def test_apache_snippets_are_found():
    snippets = apache_snippets()
    assert len(snippets) > 30
    assert any("first-portal.md" in where and "/etc/apache2/sites-available/" in where
               for where, _ in snippets)


def test_no_directive_line_carries_a_trailing_comment():
    bad = [f"{where}: {line.strip()}" for where, text in apache_snippets()
           for line in text.split("\n") if trailing_comment(line)]
    assert not bad, "httpd reads a '#' after a directive as arguments:\n" + "\n".join(bad)


def test_no_loadmodule_of_a_module_debian_ships():
    shipped = modules_debian_ships()
    bad = [f"{where}: {line.strip()}" for where, text in apache_snippets()
           for line in text.split("\n")
           if (m := re.match(r"\s*LoadModule\s+(\S+)", line)) and m.group(1) in shipped]
    assert not bad, "Debian loads these with a2enmod (mods-available/*.load):\n" + "\n".join(bad)


def github_anchor(heading):
    """The anchor GitHub gives a heading: lower case, punctuation but '-' and '_' dropped,
    spaces turned into '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(doc):
    seen, out = defaultdict(int), set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", prose(doc.read_text()), re.M):
        base = github_anchor(heading)
        out.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return out


def relative_links(doc):
    """(target path or "", anchor or None) of every link in DOC that leaves the page's site
    (http, https and mailto links are not checked)."""
    links = re.findall(r"\]\(([^)\s]+)\)", prose(doc.read_text()))
    return [tuple(t.split("#", 1)) if "#" in t else (t, None) for t in links
            if not re.match(r"(https?|mailto):", t)]


def test_links_are_found():
    assert len([link for doc in DOCS for link in relative_links(doc)]) > 100
    assert "kmenspentityid" in anchors(REPO / "docs" / "directives.md")
    assert "what-mod_kmen-does-with-each-answer" in anchors(GATEWAY_MD)


def test_every_relative_link_and_anchor_resolves():
    bad = []
    for doc in DOCS:
        for path, anchor in relative_links(doc):
            target = (doc.parent / path).resolve() if path else doc
            name = f"{doc.relative_to(REPO)}: ({path}{'#' + anchor if anchor else ''})"
            if not target.exists():
                bad.append(f"{name}: no such file")
            elif anchor is not None and (target.suffix != ".md" or anchor not in anchors(target)):
                bad.append(f"{name}: no such heading")
    assert not bad, "\n".join(bad)


# --- (e) the two first-portal guides, which a test also runs in a fresh Debian 12 root --------

GUIDES = ["docs/first-portal.md", "docs/nginx.md"]


def guide_text(guide):
    """(lines before it in its file, text) of GUIDE: all of docs/first-portal.md, and
    docs/nginx.md's section "Your first portal on nginx"."""
    if guide == "docs/first-portal.md":
        return 0, FIRST_PORTAL.read_text()
    text = NGINX_MD.read_text()
    start = text.index(f"\n{NGINX_PORTAL}\n") + 1
    end = text.find("\n## ", start)
    return text[:start].count("\n"), text[start:end if end >= 0 else len(text)]


def guide_sh_blocks(guide):
    """(line in the file, body) of the ```sh blocks of GUIDE."""
    offset, text = guide_text(guide)
    blocks = [(offset + line, body) for lang, line, body in fenced_blocks(text) if lang == "sh"]
    assert len(blocks) > 5
    return blocks


@pytest.mark.parametrize("guide", GUIDES)
def test_first_portal_sh_blocks_are_valid_shell(guide):
    for line, body in guide_sh_blocks(guide):
        r = subprocess.run(["sh", "-n"], input=body, capture_output=True, text=True)
        assert r.returncode == 0, f"{guide}:{line}: {r.stderr}\n{body}"


@pytest.mark.parametrize("guide", GUIDES)
def test_first_portal_names_its_placeholders_at_the_top(guide):
    # up to the first step: a heading of its own, or a paragraph starting "**1. "
    top = re.split(r"\n(?:## |\*\*1\. )", guide_text(guide)[1], maxsplit=1)[0]
    for value in (PORTAL_HOST, NIA_METADATA_URL, GATEWAY_URL):
        assert f"`{value}`" in top, f"the top of {guide} does not name {value}"
    commands = "\n".join(body for _, body in guide_sh_blocks(guide))
    for value in (PORTAL_HOST, NIA_METADATA_URL, GATEWAY_URL):
        assert value in commands, f"no command of {guide} uses {value}"


@pytest.mark.parametrize("guide", GUIDES)
def test_first_portal_uses_only_the_placeholders_for_site_values(guide):
    """A URL or a host name in a command is one of the three placeholders (or built from
    them), or this machine's loopback, so that replacing those three strings adapts every
    command to a site."""
    allowed_url = re.compile(rf"{re.escape(NIA_METADATA_URL)}\Z|https://{re.escape(PORTAL_HOST)}"
                             rf"(/\S*)?\Z|{re.escape(GATEWAY_URL)}(/\S*)?\Z|"
                             r"http://127\.0\.0\.1(:\d+)?(/\S*)?\Z")
    bad = []
    for line, body in guide_sh_blocks(guide):
        for url in re.findall(r"[a-z][a-z0-9+.-]*://[^\s'\"<>);]+", body):
            if not allowed_url.match(url):
                bad.append(f"{guide}:{line}: {url}")
        rest = body.replace(NIA_METADATA_URL, "").replace(GATEWAY_URL, "")
        rest = rest.replace(PORTAL_HOST, "")
        for token in re.findall(r"\b(?:[a-z0-9-]+\.)+(?:cz|sk|eu|com|org|net|example|test|"
                                r"invalid|local|gov)\b|<[a-z][a-z0-9 _-]*>|\bYOUR\w*|"
                                r"\bCHANGEME\b|\bexample\b", rest, re.I):
            bad.append(f"{guide}:{line}: {token}")
    assert not bad, "site-specific values other than the three placeholders:\n" + "\n".join(bad)


# --- (f) docs/gateway.md and the two sides of the translation gateway -----------------------

def gateway_calls_of_the_module():
    """{path: request members} of every gateway POST in core/translate.c (the module) and in
    kmenctl/gateway_calls.c (kmenctl)."""
    text = without_comments(source("translate.c").read_text())
    calls = re.findall(r'\bcall\s*\(\s*ctx\s*,\s*"(/[^"]*)"\s*,\s*json_pack\s*\(\s*"[^"]*"\s*,'
                       r'(.*?)\)\s*,', text, re.S)
    assert calls, "no call(ctx, \"/path\", json_pack(…)) in core/translate.c"
    text = without_comments((REPO / "kmenctl" / "gateway_calls.c").read_text())
    kmenctl = re.findall(r'\bkmenctl_gateway_post\s*\(\s*"(/[^"]*)"\s*,\s*json_pack\s*\(\s*'
                         r'"[^"]*"\s*,(.*?)\)\s*[,)]', text, re.S)
    assert kmenctl, "no kmenctl_gateway_post(\"/path\", json_pack(…)) in kmenctl/gateway_calls.c"
    return {path: set(re.findall(r'"([^"]+)"', args)) for path, args in calls + kmenctl}


def gateway_paths_of_the_simulator():
    """{path: request members} that t/sim/gateway.py's Translator.answer() serves: the
    paths it compares with, and the body members its handler for each reads."""
    tree = ast.parse((REPO / "t" / "sim" / "gateway.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Translator")
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    served = {}
    for node in ast.walk(methods["answer"]):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) \
                and isinstance(node.test.left, ast.Name) and node.test.left.id == "path":
            path = node.test.comparators[0].value
            handler = node.body[0].value.func.attr
            served[path] = {c.args[0].value for c in ast.walk(methods[handler])
                            if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                            and c.func.attr == "get" and isinstance(c.func.value, ast.Name)
                            and c.func.value.id == "body"}
    assert served, "no `if path == \"/…\"` in Translator.answer() of t/sim/gateway.py"
    return served


def gateway_endpoints_of_the_docs():
    """{path: members of its example request} of every "### POST /path" in docs/gateway.md."""
    text, found = GATEWAY_MD.read_text(), {}
    sections = re.split(r"^### ", text, flags=re.M)[1:]
    for section in sections:
        m = re.match(r"POST (/\S+)\s*\n", section)
        if m:
            examples = [body for lang, _, body in fenced_blocks(section) if lang == "json"]
            assert examples, f"docs/gateway.md: POST {m.group(1)} has no ```json request"
            found[m.group(1)] = set(json.loads(examples[0]))
    assert found, "no \"### POST /path\" section in docs/gateway.md"
    return found


def test_gateway_md_lists_what_the_module_calls_and_the_simulator_serves():
    module, simulator = gateway_calls_of_the_module(), gateway_paths_of_the_simulator()
    docs = gateway_endpoints_of_the_docs()
    assert set(docs) == set(module) == set(simulator), \
        f"docs/gateway.md {sorted(docs)}, translate.c and kmenctl {sorted(module)}, " \
        f"t/sim/gateway.py {sorted(simulator)}"
    for path in docs:
        assert docs[path] == module[path] == simulator[path], \
            f"{path}: members in docs/gateway.md {sorted(docs[path])}, translate.c " \
            f"{sorted(module[path])}, t/sim/gateway.py {sorted(simulator[path])}"


# --- (g) the repository stands on its own ---------------------------------------------------

# The notes the project was first planned in are not part of it: a tracked file that sends
# readers to them sends them nowhere. The needles are built from pieces, so that this file
# does not name them itself.
PRIVATE_NOTES = [name + ".md" for name in ("DESIGN", "USE-" + "CASES", "FACTS", "STYLE")]
PRIVATE_NOTES.append(".." + "/shared")


def tracked_files():
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True,
                         check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def names_private_notes(path):
    data = (REPO / path).read_bytes() if (REPO / path).is_file() else b""
    return [n for n in PRIVATE_NOTES if n.encode() in data]


def test_no_tracked_file_names_the_private_notes():
    files = tracked_files()
    assert len(files) > 100 and "apache/log.h" in files, files[:10]
    found = {path: names for path in files if (names := names_private_notes(path))}
    assert not found, f"tracked files naming notes outside the repository: {found}"
