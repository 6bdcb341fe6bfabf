# SPDX-License-Identifier: GPL-2.0-or-later
"""kmenctl keygen: the SP key, its self-signed certificate and the register key, each made
only when missing and with its mode set before anything is written; the directive lines it
prints pass a real httpd's configtest. The tests run as root, as a webmaster would."""

import datetime
import grp
import os
import re
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from t.lib.httpd import Httpd, config_text
from t.lib.stack import KMENCTL
HOST = "portal.example.cz"
FILES = ("sp.key", "sp.crt", "register.key")
DIRECTIVES = ("KmenSPEntityID", "KmenSPPrivateKeyFile", "KmenSPCertificateFile",
              "KmenSPEncryptionKeyFile", "KmenSPEncryptionCertificateFile",
              "KmenRegisterKeyFile")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="keygen's owners need root")


def keygen(*args, umask=None, env=None):
    return subprocess.run([str(KMENCTL), "keygen", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})},
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def made(out, dir):
    """{name: "created"/"kept"} of the report lines, for DIR itself ("") and its files."""
    found = {}
    for verb, path in re.findall(r"^(created|kept) +(\S+) \(", out, re.M):
        found[os.path.relpath(path, dir) if path != str(dir) else ""] = verb
    return found


def mode_and_owner(path):
    st = os.stat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, grp.getgrgid(st.st_gid).gr_name


def directive_lines(out):
    return [line for line in out.splitlines() if line.startswith(DIRECTIVES)]


def certificate(dir):
    return x509.load_pem_x509_certificate((dir / "sp.crt").read_bytes())


def private_key(dir):
    return serialization.load_pem_private_key((dir / "sp.key").read_bytes(), password=None)


def contents(dir):
    return {name: (dir / name).read_bytes() for name in FILES}


def test_keygen_makes_the_three_files(tmp_path):
    dir = tmp_path / "kmen"
    r = keygen("--host", HOST, "--dir", dir)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert made(r.stdout, dir) == {"": "created", "sp.key": "created", "sp.crt": "created",
                                   "register.key": "created"}, r.stdout
    assert mode_and_owner(dir) == (0o750, 0, "root")
    assert mode_and_owner(dir / "sp.key") == (0o400, 0, "root")
    assert mode_and_owner(dir / "sp.crt") == (0o644, 0, "root")
    assert mode_and_owner(dir / "register.key") == (0o400, 0, "root")
    assert len((dir / "register.key").read_bytes()) == 32
    assert sorted(os.listdir(dir)) == sorted(FILES)

    key, cert = private_key(dir), certificate(dir)  # the key: PEM, no passphrase
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    assert cert.subject == name and cert.issuer == name
    cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                             cert.signature_hash_algorithm)  # self-signed: by its own key
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.not_valid_after - cert.not_valid_before == datetime.timedelta(days=3650)
    san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert san.get_values_for_type(x509.DNSName) == [HOST]


def test_keygen_prints_the_directives_and_the_urls_to_register(tmp_path):
    dir = tmp_path / "kmen"
    out = keygen("--host", HOST, "--dir", dir).stdout
    assert directive_lines(out) == [
        f"KmenSPEntityID https://{HOST}/",
        f"KmenSPPrivateKeyFile {dir}/sp.key",
        f"KmenSPCertificateFile {dir}/sp.crt",
        f"KmenRegisterKeyFile {dir}/register.key"]
    urls = dict(re.findall(r"^  (SeP|ACS|logout|metadata) URL +(\S+)$", out, re.M))
    assert urls == {"SeP": f"https://{HOST}/", "ACS": f"https://{HOST}/kmen/acs",
                    "logout": f"https://{HOST}/kmen/slo",
                    "metadata": f"https://{HOST}/kmen/metadata"}
    assert re.search(rf"Back up {re.escape(str(dir))}/register\.key", out), out


def test_a_second_run_keeps_every_file_as_it_is(tmp_path):
    dir = tmp_path / "kmen"
    assert keygen("--host", HOST, "--dir", dir).returncode == 0
    before = contents(dir)
    r = keygen("--host", HOST, "--dir", dir, "--days", "30")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert made(r.stdout, dir) == {"": "kept", "sp.key": "kept", "sp.crt": "kept",
                                   "register.key": "kept"}, r.stdout
    assert contents(dir) == before
    assert len(directive_lines(r.stdout)) == 4  # what to paste, also when nothing was made


def test_only_the_missing_files_are_made(tmp_path):
    dir = tmp_path / "kmen"
    assert keygen("--host", HOST, "--dir", dir).returncode == 0
    before = contents(dir)
    (dir / "register.key").unlink()
    (dir / "sp.crt").unlink()
    r = keygen("--host", HOST, "--dir", dir)
    assert r.returncode == 0, r.stderr
    assert made(r.stdout, dir) == {"": "kept", "sp.key": "kept", "sp.crt": "created",
                                   "register.key": "created"}, r.stdout
    after = contents(dir)
    assert after["sp.key"] == before["sp.key"]
    assert after["register.key"] != before["register.key"] and len(after["register.key"]) == 32
    assert certificate(dir).public_key().public_numbers() == \
        private_key(dir).public_key().public_numbers()


def test_an_existing_key_gets_its_certificate(tmp_path):
    """A webmaster's own key (here RSA 2048, mode 0600) is used, not replaced."""
    dir = tmp_path / "kmen"
    dir.mkdir(mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    (dir / "sp.key").write_bytes(pem)
    (dir / "sp.key").chmod(0o600)
    r = keygen("--host", HOST, "--dir", dir)
    assert r.returncode == 0, r.stderr
    assert (dir / "sp.key").read_bytes() == pem
    assert mode_and_owner(dir) == (0o700, 0, "root")  # an existing directory is left alone
    assert mode_and_owner(dir / "sp.key")[0] == 0o600
    assert certificate(dir).public_key().public_numbers() == key.public_key().public_numbers()


def test_group_port_and_days(tmp_path):
    dir = tmp_path / "kmen"
    r = keygen("--host", f"{HOST}:8443", "--dir", f"{dir}/", "--days", "30",
               "--group", "www-data")
    assert r.returncode == 0, r.stderr
    assert mode_and_owner(dir) == (0o750, 0, "www-data")
    assert mode_and_owner(dir / "sp.key") == (0o400, 0, "root")  # not the directory's group
    cert = certificate(dir)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOST
    assert cert.not_valid_after - cert.not_valid_before == datetime.timedelta(days=30)
    assert f"KmenSPEntityID https://{HOST}:8443/" in r.stdout
    assert f"KmenSPPrivateKeyFile {dir}/sp.key" in r.stdout  # no "//"
    assert f"https://{HOST}:8443/kmen/acs" in r.stdout


@pytest.mark.parametrize("umask", [0o000, 0o077])
def test_modes_do_not_depend_on_the_umask(tmp_path, umask):
    dir = tmp_path / "kmen"
    assert keygen("--host", HOST, "--dir", dir, umask=umask).returncode == 0
    assert [mode_and_owner(dir / name)[0] for name in ("", *FILES)] == \
        [0o750, 0o400, 0o644, 0o400]


def test_a_setgid_parent_passes_on_no_group(tmp_path):
    """A directory whose setgid bit would hand new files its group: the keys stay root's."""
    parent = tmp_path / "setgid-parent"
    parent.mkdir()
    os.chown(parent, 0, grp.getgrnam("www-data").gr_gid)
    parent.chmod(0o2775)
    dir = parent / "kmen"
    assert keygen("--host", HOST, "--dir", dir).returncode == 0
    assert mode_and_owner(dir) == (0o750, 0, "root")
    for name in FILES:
        assert mode_and_owner(dir / name)[1:] == (0, "root"), name


def test_no_connection_string_is_taken_from_the_environment(tmp_path):
    """keygen takes no CONNINFO: libpq's variables, which other commands read, change nothing."""
    r = keygen("--host", HOST, "--dir", tmp_path / "kmen",
               env={"PGHOST": "/nonexistent", "PGDATABASE": "kmen"})
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args, says", [
    ((), "--host is required"),
    (("--host",), "--host needs a value"),
    (("--host", "-portal"), "--host takes a host name"),
    (("--host", "portal..example.cz"), "--host takes a host name"),
    (("--host", "portal.example.cz/app"), "--host takes a host name"),
    (("--host", "https://portal.example.cz"), "--host takes a host name"),
    (("--host", "portal.example.cz:0"), "--host takes a host name"),
    (("--host", "portal.example.cz:65536"), "--host takes a host name"),
    (("--host", HOST, "--dir", "kmen"), "--dir takes an absolute path"),
    (("--host", HOST, "--dir", "/etc/apache2/my kmen"), "--dir takes an absolute path"),
    (("--host", HOST, "--days", "0"), "--days takes a number of days from 1 to 36500"),
    (("--host", HOST, "--days", "36501"), "--days takes a number of days from 1 to 36500"),
    (("--host", HOST, "--days", "ten"), "--days takes a number of days from 1 to 36500"),
    (("--host", HOST, "--group", "no-such-group"), "--group no-such-group: no such group"),
    (("--host", HOST, "--key-file", "k"), "unknown option --key-file"),
    (("--host", HOST, "extra"), "too many arguments"),
])
def test_usage_errors(tmp_path, args, says):
    dir = tmp_path / "kmen"
    extra = () if "--dir" in args else ("--dir", dir)
    r = keygen(*extra, *args)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert r.stdout == ""
    assert not dir.exists()


def refused(dir, says):
    r = keygen("--host", HOST, "--dir", dir)
    assert r.returncode == 1, r.stdout + r.stderr
    line = r.stderr.strip()
    assert "\n" not in line and says in line, r.stderr
    return line


def test_a_certificate_without_its_key_is_refused(tmp_path):
    dir = tmp_path / "kmen"
    assert keygen("--host", HOST, "--dir", dir).returncode == 0
    (dir / "sp.key").unlink()
    (dir / "register.key").unlink()
    assert refused(dir, "sp.key: missing, but").startswith(f"kmenctl: {dir}/sp.key")
    assert sorted(os.listdir(dir)) == ["sp.crt"]  # neither a new key nor a register key


def test_a_certificate_of_another_key_is_refused(tmp_path):
    dir, other = tmp_path / "kmen", tmp_path / "other"
    for d in (dir, other):
        assert keygen("--host", HOST, "--dir", d).returncode == 0
    (dir / "sp.crt").unlink()
    (dir / "sp.crt").write_bytes((other / "sp.crt").read_bytes())
    refused(dir, f"{dir}/sp.crt: does not belong to {dir}/sp.key")


def test_an_encrypted_key_is_refused_without_a_prompt(tmp_path):
    dir = tmp_path / "kmen"
    dir.mkdir()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (dir / "sp.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    refused(dir, f"{dir}/sp.key: not an unencrypted PEM private key")
    assert sorted(os.listdir(dir)) == ["sp.key"]


def test_a_register_key_httpd_would_refuse_is_reported_and_kept(tmp_path):
    dir = tmp_path / "kmen"
    dir.mkdir()
    (dir / "register.key").write_bytes(os.urandom(32) + b"\n")  # an editor's newline
    refused(dir, f"{dir}/register.key: holds 33 bytes, not 32")
    assert len((dir / "register.key").read_bytes()) == 33


def test_a_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "kmen").write_text("")
    refused(tmp_path / "kmen", "exists and is not a directory")


def test_the_printed_lines_pass_configtest(stack, tmp_path):
    """What keygen tells the webmaster to paste, in place of the test site's own key lines,
    in a real httpd with the module: apachectl configtest passes."""
    dir = tmp_path / "kmen"
    printed = directive_lines(keygen("--host", HOST, "--dir", dir).stdout)
    assert len(printed) == 4
    h = Httpd(parent=stack.dir)
    site = config_text(h.dir, h.port, stack.portal_port, stack.site()).splitlines()
    kept = [line for line in site if not line.startswith(tuple(d + " " for d in DIRECTIVES))]
    assert len(site) - len(kept) == 4
    h.write_config("\n".join(kept + printed) + "\n")
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    # ...and it is these files httpd checked: a key that does not belong fails it.
    (dir / "sp.crt").unlink()
    (dir / "sp.crt").write_bytes((stack.keys.dir / "sp-cert.pem").read_bytes())
    rc, out = h.configtest()
    assert rc != 0 and re.search(
        rf"KMEN0642: mod_kmen: KmenSPPrivateKeyFile {re.escape(str(dir / 'sp.key'))} "
        rf"\({re.escape(str(h.conf))}:\d+\): does not belong to KmenSPCertificateFile$",
        out, re.M), out


def test_next_makes_the_next_pair_beside_the_current_one(stack, tmp_path):
    """--next: sp-next.key and sp-next.crt only, the current files left as they are; the two
    lines it prints, added after the site's own pair, pass configtest (a key rollover)."""
    dir = tmp_path / "kmen"
    assert keygen("--host", HOST, "--dir", dir).returncode == 0
    before = contents(dir)
    r = keygen("--host", HOST, "--dir", dir, "--next")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert made(r.stdout, dir) == {"": "kept", "sp-next.key": "created",
                                   "sp-next.crt": "created"}, r.stdout
    assert contents(dir) == before
    assert mode_and_owner(dir / "sp-next.key") == (0o400, 0, "root")
    printed = directive_lines(r.stdout)
    assert printed == [f"KmenSPPrivateKeyFile {dir}/sp-next.key",
                       f"KmenSPCertificateFile {dir}/sp-next.crt"], r.stdout
    h = Httpd(parent=stack.dir)
    site = config_text(h.dir, h.port, stack.portal_port, stack.site())
    current = [line for line in site.splitlines() if line.startswith("KmenSPCertificateFile ")]
    h.write_config(site.replace(current[0], current[0] + "\n" + "\n".join(printed)))
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    again = keygen("--host", HOST, "--dir", dir, "--next")
    assert made(again.stdout, dir) == {"": "kept", "sp-next.key": "kept",
                                       "sp-next.crt": "kept"}, again.stdout


def test_encryption_makes_a_separate_encryption_pair(stack, tmp_path):
    """--encryption: sp-enc.key and sp-enc.crt only; the four lines it prints (the current
    pair as the first encryption pair, the new one second), added after the site's own pair,
    pass configtest. With --next: sp-enc-next.key and .crt, the two lines of an encryption
    key rollover."""
    dir = tmp_path / "kmen"
    assert keygen("--host", HOST, "--dir", dir).returncode == 0
    before = contents(dir)
    r = keygen("--host", HOST, "--dir", dir, "--encryption")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert made(r.stdout, dir) == {"": "kept", "sp-enc.key": "created",
                                   "sp-enc.crt": "created"}, r.stdout
    assert contents(dir) == before
    assert mode_and_owner(dir / "sp-enc.key") == (0o400, 0, "root")
    printed = directive_lines(r.stdout)
    assert printed == [f"KmenSPEncryptionKeyFile {dir}/sp.key",
                       f"KmenSPEncryptionCertificateFile {dir}/sp.crt",
                       f"KmenSPEncryptionKeyFile {dir}/sp-enc.key",
                       f"KmenSPEncryptionCertificateFile {dir}/sp-enc.crt"], r.stdout
    nxt = keygen("--host", HOST, "--dir", dir, "--encryption", "--next")
    assert made(nxt.stdout, dir) == {"": "kept", "sp-enc-next.key": "created",
                                     "sp-enc-next.crt": "created"}, nxt.stdout
    rollover = directive_lines(nxt.stdout)
    assert rollover == [f"KmenSPEncryptionKeyFile {dir}/sp-enc-next.key",
                        f"KmenSPEncryptionCertificateFile {dir}/sp-enc-next.crt"], nxt.stdout
    h = Httpd(parent=stack.dir)
    site = config_text(h.dir, h.port, stack.portal_port, stack.site())
    current = [line for line in site.splitlines() if line.startswith("KmenSPCertificateFile ")]
    for lines in (printed, printed[2:] + rollover):
        h.write_config(site.replace(current[0], current[0] + "\n" + "\n".join(lines)))
        rc, out = h.configtest()
        assert rc == 0 and "Syntax OK" in out, out
