# SPDX-License-Identifier: GPL-2.0-or-later
"""Shibboleth SP 3's configuration for `make bench`, written into the bench's own directory:
shibboleth2.xml (read by shibd and, through ShibConfig, by mod_shib), the attribute map, the
security policy, the protocols and the loggers. Nothing comes from the system's
/etc/shibboleth: shibd gets its own socket, in-memory storage and pid file here."""

import html
import time
from pathlib import Path

IDP_ENTITY_ID = "urn:microsoft:cgg2010:fpsts"
LOA = "http://eidas.europa.eu/LoA/substantial"


def shibboleth2(dir, entity_id, keys):
    """The SP: its entityID, key and certificate (signing the AuthnRequests, decrypting the
    assertions), the simulator's metadata from a file, sessions over plain HTTP (the bench
    runs on loopback without TLS, as mellon's MellonSecureCookie Off), the AuthnRequest
    signed and asking for LoA substantial at least, as mellon's and mod_kmen's do."""
    d, e = Path(dir), html.escape
    return f"""<SPConfig xmlns="urn:mace:shibboleth:3.0:native:sp:config"
    xmlns:conf="urn:mace:shibboleth:3.0:native:sp:config" clockSkew="180">
  <OutOfProcess logger="{d}/shibd.logger"/>
  <InProcess logger="{d}/native.logger"/>
  <UnixListener address="{d}/shibd.sock"/>
  <StorageService type="Memory" id="mem" cleanupInterval="900"/>
  <SessionCache type="StorageService" StorageService="mem" cacheAssertions="false"
      cacheAllowance="900" inprocTimeout="900" cleanupInterval="900"/>
  <ReplayCache StorageService="mem"/>
  <ApplicationDefaults entityID="{e(entity_id)}" signing="front" encryption="false">
    <Sessions lifetime="28800" timeout="3600" relayState="ss:mem" checkAddress="false"
        handlerSSL="false" cookieProps="http" redirectLimit="exact">
      <SSO entityID="{IDP_ENTITY_ID}" authnContextClassRef="{LOA}"
          authnContextComparison="minimum">SAML2</SSO>
      <Logout>SAML2 Local</Logout>
    </Sessions>
    <Errors supportContact="root@localhost"/>
    <MetadataProvider type="XML" validate="false" path="{d}/idp-metadata.xml"/>
    <AttributeExtractor type="XML" validate="true" reloadChanges="false"
        path="{d}/attribute-map.xml"/>
    <CredentialResolver type="File" key="{e(str(keys.sp_key))}"
        certificate="{e(str(keys.sp_cert))}"/>
  </ApplicationDefaults>
  <SecurityPolicyProvider type="XML" validate="true" path="{d}/security-policy.xml"/>
  <ProtocolProvider type="XML" validate="true" reloadChanges="false" path="{d}/protocols.xml"/>
</SPConfig>
"""


# The persistent NameID and the names and birth date of the eIDAS minimal data set; the
# simulator's other attributes (and PersonIdentifier, which is NIA's BSI) are dropped.
ATTRIBUTE_MAP = """<Attributes xmlns="urn:mace:shibboleth:2.0:attribute-map"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Attribute name="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" id="persistent-id">
    <AttributeDecoder xsi:type="NameIDAttributeDecoder" formatter="$Name"/>
  </Attribute>
  <Attribute name="http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName"
      id="given-name"/>
  <Attribute name="http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName"
      id="family-name"/>
  <Attribute name="http://eidas.europa.eu/attributes/naturalperson/DateOfBirth"
      id="date-of-birth"/>
</Attributes>
"""

# Shibboleth's default policy (replay cache, audience, signatures, weak algorithms
# excluded), but a Response may be an hour old rather than 60 s: the bench generates its
# logins before the clock starts and posts them minutes later, and the simulator's
# assertions are valid for an hour (mellon and mod_kmen check that NotOnOrAfter).
SECURITY_POLICY = """<SecurityPolicies xmlns="urn:mace:shibboleth:3.0:native:sp:config">
  <Policy id="default" validate="false">
    <PolicyRule type="MessageFlow" checkReplay="true" expires="3600"/>
    <PolicyRule type="Conditions">
      <PolicyRule type="Audience"/>
    </PolicyRule>
    <PolicyRule type="ClientCertAuth" errorFatal="true"/>
    <PolicyRule type="XMLSigning" errorFatal="true"/>
    <PolicyRule type="SimpleSigning" errorFatal="true"/>
  </Policy>
  <ExcludedAlgorithms excludeDefaults="true"/>
</SecurityPolicies>
"""

# SAML 2.0 only: the HTTP-POST ACS and the logout endpoints.
PROTOCOLS = """<Protocols xmlns="urn:mace:shibboleth:2.0:native:sp:protocols">
  <Protocol id="SAML2">
    <Service id="SSO">
      <Initiator id="SAML2"/>
      <Binding id="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" path="/SAML2/POST"/>
    </Service>
    <Service id="Logout">
      <Initiator id="SAML2"/>
      <Binding id="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" path="/SLO/Redirect"/>
    </Service>
  </Protocol>
  <Protocol id="Local">
    <Service id="Logout">
      <Initiator id="Local"/>
    </Service>
  </Protocol>
</Protocols>
"""


def logger(path):
    """A log4shib configuration at WARN: to PATH, or (None) to standard error, which is
    httpd's error log for mod_shib in httpd's children."""
    if path is None:
        appender = "org.apache.log4j.ConsoleAppender"
        where = ""
    else:
        appender = "org.apache.log4j.FileAppender"
        where = f"log4j.appender.out.fileName={path}\n"
    return (f"log4j.rootCategory=WARN, out\nlog4j.appender.out={appender}\n{where}"
            "log4j.appender.out.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.out.layout.ConversionPattern=%d{%Y-%m-%d %H:%M:%S} %p %c %x: %m%n\n")


def httpd_block(module, config):
    """mod_shib in the bench's httpd: its configuration file, AuthType shibboleth with a
    session required over /bench, its handler reachable."""
    return f"""LoadModule mod_shib {module}
ShibConfig {config}
<Location /Shibboleth.sso>
    AuthType None
    Require all granted
</Location>
<Location /bench>
    AuthType shibboleth
    ShibRequestSetting requireSession true
    Require valid-user
</Location>"""


def wait_for_socket(child, path, timeout=30.0):
    """Wait until shibd (CHILD) listens on its socket PATH."""
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if not child.alive() or time.monotonic() > deadline:
            child.fail(f"never listened on {path}")
        time.sleep(0.1)
