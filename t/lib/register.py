# SPDX-License-Identifier: GPL-2.0-or-later
"""What tests ask the register (kmen.client and friends) as the database superuser.

Secret identifiers are stored as blind indexes only; blind_index() computes the same value
as core/identifiers.c (kmen_id_index: HMAC-SHA256 under a key derived from the
KmenRegisterKeyFile, over "<kind>" 0x00 agenda 0x00 value), so a test can find the rows of
one BSI or AIFO without the database ever holding them in the clear.
"""

import base64
import hashlib
import hmac
from pathlib import Path
from urllib.parse import quote

TABLES = ("client", "client_bsi", "client_aifo")


def _index_key(register_key):
    master = Path(register_key).read_bytes()
    return hmac.new(master, b"kmen blind index v1", hashlib.sha256).digest()


def blind_index(register_key, kind, value, agenda=None):
    """KIND: "bsi", "aifo", "pseudonym". The 32 bytes stored in *_index columns."""
    msg = kind.encode() + b"\0" + (agenda or "").encode() + b"\0" + value.encode()
    return hmac.new(_index_key(register_key), msg, hashlib.sha256).digest()


def counts(stack):
    """(rows of kmen.client, kmen.client_bsi, kmen.client_aifo)."""
    return tuple(stack.count(t) for t in TABLES)


def clients_by_bsi(stack, bsi):
    """client_id of every client linked to BSI (at most one, by constraint)."""
    idx = blind_index(stack.keys.register_key, "bsi", bsi)
    return [str(r[0]) for r in stack.query(
        "SELECT c.client_id FROM kmen.client_bsi b JOIN kmen.client c ON c.id = b.client "
        "WHERE b.bsi_index = %s", (idx,))]


def clients_by_aifo(stack, aifo, agenda):
    idx = blind_index(stack.keys.register_key, "aifo", aifo, agenda)
    return [str(r[0]) for r in stack.query(
        "SELECT c.client_id FROM kmen.client_aifo a JOIN kmen.client c ON c.id = a.client "
        "WHERE a.agenda = %s AND a.aifo_index = %s", (agenda, idx))]


def aifo_agendas(stack, client_id):
    """Agendas in which the register holds an AIFO of CLIENT_ID, sorted."""
    return [r[0] for r in stack.query(
        "SELECT a.agenda FROM kmen.client_aifo a JOIN kmen.client c ON c.id = a.client "
        "WHERE c.client_id = %s ORDER BY a.agenda", (client_id,))]


def bsi_links(stack, client_id):
    return stack.query(
        "SELECT count(*) FROM kmen.client_bsi b JOIN kmen.client c ON c.id = b.client "
        "WHERE c.client_id = %s", (client_id,))[0][0]


def systems(stack, client_id):
    """Systems kmen.client_system links to CLIENT_ID, sorted."""
    return [r[0] for r in stack.query(
        "SELECT s.system FROM kmen.client_system s JOIN kmen.client c ON c.id = s.client "
        "WHERE c.client_id = %s ORDER BY s.system", (client_id,))]


def audit(stack, client_id, event=None, outcome=None):
    """[(event, outcome)] of the audit rows about CLIENT_ID, oldest first."""
    rows = stack.query("SELECT event, outcome FROM kmen.audit WHERE client_id = %s ORDER BY id",
                       (client_id,))
    return [r for r in rows if (event is None or r[0] == event)
            and (outcome is None or r[1] == outcome)]


def spellings(secret):
    """Ways a secret string could show up in a text: as is, percent-encoded, base64, hex
    (a bytea in a dump is hex)."""
    raw = secret.encode()
    out = {secret, quote(secret, safe=""), quote(secret), raw.hex(),
           base64.b64encode(raw).decode().rstrip("="),
           base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return {s for s in out if len(s) >= 8}
