# SPDX-License-Identifier: GPL-2.0-or-later
"""The NIA simulator's signing and encryption done in its own process with python3-xmlsec
(the same libxmlsec1 as the xmlsec1 program) instead of one xmlsec1 process per operation.

pysaml2's CryptoBackendXmlSec1 starts xmlsec1 for each signature and each encryption:
three processes per Response, tens of milliseconds, which makes the simulator, not the SP,
the limit of `make bench`'s ten thousand logins. Keys, and the keys manager an encryption
needs, are made once per file and kept. This backend gives the same results for
the two operations the simulator's Responses need (sign_statement, encrypt_assertion);
checking signatures stays with xmlsec1. The simulator uses it when KMEN_SIM_CRYPTO is
"in-process" (bench/run.py sets it); the test suite keeps the xmlsec1 program."""

import threading

import xmlsec
from lxml import etree
from saml2.sigver import CryptoBackendXmlSec1

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def _serialize(tree):
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8").decode()


class InProcessXmlSec(CryptoBackendXmlSec1):
    def __init__(self, xmlsec_binary):
        super().__init__(xmlsec_binary)
        self._keys, self._managers, self._lock = {}, {}, threading.Lock()

    def _key(self, path, fmt):
        """A key file read once; SignatureContext and KeysManager take copies of it."""
        with self._lock:
            if (path, fmt) not in self._keys:
                self._keys[path, fmt] = xmlsec.Key.from_file(path, fmt)
            return self._keys[path, fmt]

    def _manager(self, cert_file):
        """A keys manager holding the certificate's key, made once per certificate: making
        one loads the system's CA certificates into its X.509 store (20 ms of CPU, more
        than the rest of a Response). Its lock serialises encryptions with it, as xmlsec
        does not promise that a keys manager may be used by two threads at once."""
        key = self._key(cert_file, xmlsec.constants.KeyDataFormatCertPem)
        with self._lock:
            if cert_file not in self._managers:
                manager = xmlsec.KeysManager()
                manager.add_key(key)
                self._managers[cert_file] = manager, threading.Lock()
            return self._managers[cert_file]

    def sign_statement(self, statement, node_name, key_file, node_id):
        """As `xmlsec1 --sign --privkey-pem KEY --id-attr:ID NODE --node-id ID`: the first
        ds:Signature template inside the element with that ID is filled in."""
        root = etree.fromstring(statement.encode(), _PARSER)
        xmlsec.tree.add_ids(root, ["ID"])
        start = root if root.get("ID") == node_id else root.xpath(
            "//*[@ID=$id]", id=node_id)[0]
        signature = xmlsec.tree.find_node(start, xmlsec.constants.NodeSignature)
        ctx = xmlsec.SignatureContext()
        ctx.key = self._key(key_file, xmlsec.constants.KeyDataFormatPem)
        ctx.sign(signature)
        return _serialize(root)

    def encrypt_assertion(self, statement, enc_key, template, key_type="des-192",
                          node_xpath=None, node_id=None):
        """As `xmlsec1 --encrypt --pubkey-cert-pem CERT --session-key aes-256 --node-xpath
        XPATH TEMPLATE`: the element XPATH selects is replaced by TEMPLATE's EncryptedData,
        its session key sent to the certificate's key."""
        if key_type != "aes-256":
            raise ValueError(f"session key {key_type}: only aes-256 is done in process")
        root = etree.fromstring(statement.encode(), _PARSER)
        node = root.xpath(node_xpath)[0]
        manager, lock = self._manager(enc_key)
        with lock:
            ctx = xmlsec.EncryptionContext(manager)
            ctx.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, 256,
                                          xmlsec.constants.KeyDataTypeSession)
            ctx.encrypt_xml(etree.fromstring(str(template).encode(), _PARSER), node)
        return _serialize(root)
