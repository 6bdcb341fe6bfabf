/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration's settings, each written once: the struct members of
 * kmen_server_conf and kmen_dir_conf, their creation (every field unset), the
 * merge of a virtual host or location over its parent, and the defaults are
 * all expanded from these two lists (conf.h, conf.c), and the docs' defaults
 * are checked against them (t/integration/test_docs.py, which reads them
 * through t/unit/conf_defaults).
 *
 * X(TYPE, field, default, MERGE, directive):
 *   TYPE      the field's C type and how its value is spelled (KMEN_BASE_*,
 *             conf.h): STR, INT (a number), FLAG (On/Off), LOA, EIDAS
 *             (verify/accept), ENCODING and NAMEID (kmen_*_names), PINS and
 *             ATTRS (arrays). Unset is NULL for pointers, KMEN_UNSET else.
 *   default   what an unset field counts as, or NULL for none; a server
 *             field's default may read the fields listed above it, already
 *             defaulted (c is the kmen_server_conf).
 *   MERGE     OWN: the child's value when it sets one, else the parent's;
 *             WITH_KEY, WITH_CERT, WITH_ENC: the key pairs that travel
 *             together (conf.c).
 *   directive httpd's name of the directive that sets it (kmen_cmds[] in
 *             apache/mod_kmen.c); NULL for the second key pair's fields,
 *             which a directive's second occurrence sets.
 * Expanders name the columns they read and take the rest as `...`: a column
 * added at the end (nginx's directive name) changes only those that read the
 * directive column.
 * Loaded state (keys, the SP, the store) is not configuration: it stays
 * outside, in the structs themselves. */
#ifndef KMEN_CONF_FIELDS_H
#define KMEN_CONF_FIELDS_H

#define KMEN_SERVER_FIELDS(X)                                                                      \
    /* the SAML side: this SP's names and keys, and NIA's metadata */                              \
    X(STR, sp_entity_id, NULL, OWN, "KmenSPEntityID")                                              \
    /* NULL: the entity ID's scheme://host[:port] (kmen_sp_base_url) */                            \
    X(STR, acs_base_url, NULL, OWN, "KmenACSBaseURL")                                              \
    X(FLAG, allow_http, 0, OWN, "KmenAllowHTTP")                                                   \
    /* the first KmenSPPrivateKeyFile and KmenSPCertificateFile: sign and decrypt */               \
    X(STR, sp_key_file, NULL, OWN, "KmenSPPrivateKeyFile")                                         \
    X(STR, sp_cert_file, NULL, OWN, "KmenSPCertificateFile")                                       \
    /* the second, while the key rolls over: decrypts; a context's pairs go together, so a         \
     * virtual host's one key is not followed by the main server's second */                       \
    X(STR, sp_next_key_file, NULL, WITH_KEY, NULL)                                                 \
    X(STR, sp_next_cert_file, NULL, WITH_CERT, NULL)                                               \
    /* when set, these alone decrypt and the pairs above only sign; a virtual host's own           \
     * signing key is not paired with the main server's encryption keys */                         \
    X(STR, sp_enc_key_file, NULL, WITH_ENC, "KmenSPEncryptionKeyFile")                             \
    X(STR, sp_enc_cert_file, NULL, WITH_ENC, "KmenSPEncryptionCertificateFile")                    \
    X(STR, sp_next_enc_key_file, NULL, WITH_ENC, NULL)                                             \
    X(STR, sp_next_enc_cert_file, NULL, WITH_ENC, NULL)                                            \
    X(STR, idp_metadata_file, NULL, OWN, "KmenIdPMetadataFile")                                    \
    /* the pinned certificate(s) signing that file */                                              \
    X(STR, idp_metadata_cert_file, NULL, OWN, "KmenIdPMetadataCertificateFile")                    \
    /* where one process fetches that file from, every idp_metadata_refresh seconds */             \
    X(STR, idp_metadata_url, NULL, OWN, "KmenIdPMetadataURL")                                      \
    X(INT, idp_metadata_refresh, 3600, OWN, "KmenIdPMetadataRefresh")                              \
    X(NAMEID, nameid_policy, KMEN_NAMEID_PERSISTENT, OWN, "KmenNameIDFormat")                      \
    X(STR, endpoint_path, "/kmen", OWN, "KmenEndpointPath")                                        \
    /* the register */                                                                             \
    X(STR, db_conninfo, NULL, OWN, "KmenDatabase")                                                 \
    X(INT, db_pool_size, 4, OWN, "KmenDatabasePoolSize")                                           \
    X(STR, register_key_file, NULL, OWN, "KmenRegisterKeyFile")                                    \
    X(STR, register_agenda, "A8566", OWN, "KmenRegisterAgenda")                                    \
    X(STR, login_agenda, "A8566", OWN, "KmenLoginAgenda")                                          \
    /* the services mod_kmen calls or is called by: the translation gateway ... */                 \
    X(STR, translator_url, NULL, OWN, "KmenTranslatorURL")                                         \
    X(STR, translator_cert_file, NULL, OWN, "KmenTranslatorCertificateFile")                       \
    X(STR, translator_key_file, NULL, OWN, "KmenTranslatorKeyFile")                                \
    X(STR, translator_ca_file, NULL, OWN, "KmenTranslatorCAFile")                                  \
    X(INT, translator_timeout, 5, OWN, "KmenTranslatorTimeout")                                    \
    /* ... and the evidence service */                                                             \
    X(STR, evidence_url, NULL, OWN, "KmenEvidenceURL")                                             \
    X(STR, evidence_secret_file, NULL, OWN, "KmenEvidenceSecretFile")                              \
    X(STR, evidence_ca_file, NULL, OWN, "KmenEvidenceCallbackCAFile")                              \
    /* SPKI SHA-256s of the evidence service's certificate */                                      \
    X(PINS, evidence_pins, NULL, OWN, "KmenEvidenceCallbackCertificate")                           \
    /* sessions and logins */                                                                      \
    X(INT, session_lifetime, 28800, OWN, "KmenSessionLifetime")                                    \
    X(INT, session_idle, 1800, OWN, "KmenSessionIdleTimeout")                                      \
    X(STR, session_cache, "shmcb", OWN, "KmenSessionCache")                                        \
    X(INT, session_cache_ttl, 10, OWN, "KmenSessionCacheTTL")                                      \
    /* per minute and client address; 0: none */                                                   \
    X(INT, login_start_limit, 60, OWN, "KmenLoginStartLimit")                                      \
    X(FLAG, cookie_secure, 1, OWN, "KmenCookieSecure")                                             \
    /* __Host-: browsers take such a cookie only from this very host, so a sibling subdomain       \
     * can plant neither a session nor a login state; they take it only Secure */                  \
    X(STR, cookie_name, c->cookie_secure ? "__Host-kmen_session" : "kmen_session", OWN,            \
      "KmenCookieName")                                                                            \
    /* NIA writes NotBefore = IssueInstant: a NIA clock a little ahead of ours refuses every       \
     * login. 180 s as Shibboleth's default. */                                                    \
    X(INT, clock_skew, 180, OWN, "KmenClockSkew")                                                  \
    X(STR, home_country, "CZ", OWN, "KmenHomeCountry")                                             \
    X(INT, pending_timeout, 3600, OWN, "KmenPendingTimeout")                                       \
    X(STR, error_document, NULL, OWN, "KmenErrorDocument")                                         \
    /* what the backend is told */                                                                 \
    X(STR, header_prefix, "Kmen-", OWN, "KmenHeaderPrefix")                                        \
    X(ENCODING, header_encoding, KMEN_ENCODING_PERCENT, OWN, "KmenHeaderEncoding")                 \
    X(STR, header_secret_file, NULL, OWN, "KmenHeaderSecretFile")

#define KMEN_DIR_FIELDS(X)                                                                         \
    X(LOA, min_loa, KMEN_LOA_SUBSTANTIAL, OWN, "KmenLoA")                                          \
    /* of kmen_requested_attr */                                                                   \
    X(ATTRS, requested, &kmen_eidas_minimal_set, OWN, "KmenRequestedAttributes")                   \
    X(STR, sp_type, "public", OWN, "KmenSPType")                                                   \
    /* this location gets Kmen-Aifo in this agenda */                                              \
    X(STR, agenda, NULL, OWN, "KmenAgenda")                                                        \
    /* 1: accept a foreigner's minimal data set, 0: verify the person first */                     \
    X(EIDAS, eidas_accept, 0, OWN, "KmenEidasPolicy")                                              \
    X(STR, verify_path, NULL, OWN, "KmenVerifyPath")                                               \
    X(FLAG, accept_contact, 0, OWN, "KmenAcceptContact")                                           \
    X(FLAG, allow_link, 0, OWN, "KmenAllowLink")                                                   \
    X(FLAG, accept_link_system, 0, OWN, "KmenAcceptLinkSystem")                                    \
    X(FLAG, accept_evidence_request, 0, OWN, "KmenAcceptEvidenceRequest")                          \
    X(FLAG, cache_private, 1, OWN, "KmenCacheControlPrivate")                                      \
    X(FLAG, force_authn, 0, OWN, "KmenForceAuthn")

#endif
