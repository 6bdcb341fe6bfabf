/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration's settings, each written once: the struct members of
 * kmen_server_conf and kmen_dir_conf, their creation (every field unset), the
 * merge of a virtual host or location over its parent, and the defaults are
 * all expanded from these two lists (conf.h, conf.c), and the docs' defaults
 * are checked against them (t/integration/test_docs.py, which reads them
 * through t/unit/conf_defaults).
 *
 * X(TYPE, field, default, MERGE, directive, nginx):
 *   TYPE      the field's C type and how its value is spelled (KMEN_BASE_*,
 *             conf.h): STR, FILE (a path; a relative one is taken from httpd's
 *             ServerRoot, nginx's configuration directory), INT (a number),
 *             FLAG (On/Off), LOA, EIDAS
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
 *             which a directive's second occurrence sets. It is also the
 *             key of the where table, in both servers.
 *   nginx     nginx's name of it (docs/nginx.md; nginx's directive table is
 *             expanded from this column, nginx/ngx_http_kmen_module.c): a
 *             table, not a rule, since no rule
 *             turns KmenIdPMetadataFile and KmenSPEntityID into
 *             kmen_idp_metadata_file and kmen_sp_entity_id alike.
 * A setting's identity is its field (kmen_conf_field, conf_check.h); the
 * directive columns are only its spellings.
 * Expanders name the columns they read and take the rest as `...`.
 * Loaded state (keys, the SP, the store) is not configuration: it stays
 * outside, in the structs themselves. */
#ifndef KMEN_CONF_FIELDS_H
#define KMEN_CONF_FIELDS_H

#define KMEN_SERVER_FIELDS(X)                                                                      \
    /* the SAML side: this SP's names and keys, and NIA's metadata */                              \
    X(STR, sp_entity_id, NULL, OWN, "KmenSPEntityID", "kmen_sp_entity_id")                         \
    /* NULL: the entity ID's scheme://host[:port] (kmen_sp_base_url) */                            \
    X(STR, acs_base_url, NULL, OWN, "KmenACSBaseURL", "kmen_acs_base_url")                         \
    X(FLAG, allow_http, 0, OWN, "KmenAllowHTTP", "kmen_allow_http")                                \
    /* the first KmenSPPrivateKeyFile and KmenSPCertificateFile: sign and decrypt */               \
    X(FILE, sp_key_file, NULL, OWN, "KmenSPPrivateKeyFile", "kmen_sp_private_key_file")            \
    X(FILE, sp_cert_file, NULL, OWN, "KmenSPCertificateFile", "kmen_sp_certificate_file")          \
    /* the second, while the key rolls over: decrypts; a context's pairs go together, so a         \
     * virtual host's one key is not followed by the main server's second */                       \
    X(FILE, sp_next_key_file, NULL, WITH_KEY, NULL, NULL)                                          \
    X(FILE, sp_next_cert_file, NULL, WITH_CERT, NULL, NULL)                                        \
    /* when set, these alone decrypt and the pairs above only sign; a virtual host's own           \
     * signing key is not paired with the main server's encryption keys */                         \
    X(FILE, sp_enc_key_file, NULL, WITH_ENC, "KmenSPEncryptionKeyFile",                            \
      "kmen_sp_encryption_key_file")                                                               \
    X(FILE, sp_enc_cert_file, NULL, WITH_ENC, "KmenSPEncryptionCertificateFile",                   \
      "kmen_sp_encryption_certificate_file")                                                       \
    X(FILE, sp_next_enc_key_file, NULL, WITH_ENC, NULL, NULL)                                      \
    X(FILE, sp_next_enc_cert_file, NULL, WITH_ENC, NULL, NULL)                                     \
    X(FILE, idp_metadata_file, NULL, OWN, "KmenIdPMetadataFile", "kmen_idp_metadata_file")         \
    /* the pinned certificate(s) signing that file */                                              \
    X(FILE, idp_metadata_cert_file, NULL, OWN, "KmenIdPMetadataCertificateFile",                   \
      "kmen_idp_metadata_certificate_file")                                                        \
    /* where one process fetches that file from, every idp_metadata_refresh seconds */             \
    X(STR, idp_metadata_url, NULL, OWN, "KmenIdPMetadataURL", "kmen_idp_metadata_url")             \
    X(INT, idp_metadata_refresh, 3600, OWN, "KmenIdPMetadataRefresh", "kmen_idp_metadata_refresh") \
    X(NAMEID, nameid_policy, KMEN_NAMEID_PERSISTENT, OWN, "KmenNameIDFormat",                      \
      "kmen_nameid_format")                                                                        \
    X(STR, endpoint_path, "/kmen", OWN, "KmenEndpointPath", "kmen_endpoint_path")                  \
    /* the register */                                                                             \
    X(STR, db_conninfo, NULL, OWN, "KmenDatabase", "kmen_database")                                \
    X(INT, db_pool_size, 4, OWN, "KmenDatabasePoolSize", "kmen_database_pool_size")                \
    X(FILE, register_key_file, NULL, OWN, "KmenRegisterKeyFile", "kmen_register_key_file")         \
    X(STR, register_agenda, "A8566", OWN, "KmenRegisterAgenda", "kmen_register_agenda")            \
    X(STR, login_agenda, "A8566", OWN, "KmenLoginAgenda", "kmen_login_agenda")                     \
    /* the services mod_kmen calls or is called by: the translation gateway ... */                 \
    X(STR, translator_url, NULL, OWN, "KmenTranslatorURL", "kmen_translator_url")                  \
    X(FILE, translator_cert_file, NULL, OWN, "KmenTranslatorCertificateFile",                      \
      "kmen_translator_certificate_file")                                                          \
    X(FILE, translator_key_file, NULL, OWN, "KmenTranslatorKeyFile", "kmen_translator_key_file")   \
    X(FILE, translator_ca_file, NULL, OWN, "KmenTranslatorCAFile", "kmen_translator_ca_file")      \
    X(INT, translator_timeout, 5, OWN, "KmenTranslatorTimeout", "kmen_translator_timeout")         \
    /* ... and the evidence service */                                                             \
    X(STR, evidence_url, NULL, OWN, "KmenEvidenceURL", "kmen_evidence_url")                        \
    X(FILE, evidence_secret_file, NULL, OWN, "KmenEvidenceSecretFile",                             \
      "kmen_evidence_secret_file")                                                                 \
    X(FILE, evidence_ca_file, NULL, OWN, "KmenEvidenceCallbackCAFile",                             \
      "kmen_evidence_callback_ca_file")                                                            \
    /* SPKI SHA-256s of the evidence service's certificate */                                      \
    X(PINS, evidence_pins, NULL, OWN, "KmenEvidenceCallbackCertificate",                           \
      "kmen_evidence_callback_certificate")                                                        \
    /* sessions and logins */                                                                      \
    X(INT, session_lifetime, 28800, OWN, "KmenSessionLifetime", "kmen_session_lifetime")           \
    X(INT, session_idle, 1800, OWN, "KmenSessionIdleTimeout", "kmen_session_idle_timeout")         \
    X(STR, session_cache, "shmcb", OWN, "KmenSessionCache", "kmen_session_zone")                   \
    X(INT, session_cache_ttl, 10, OWN, "KmenSessionCacheTTL", "kmen_session_cache_ttl")            \
    /* per minute and client address; 0: none */                                                   \
    X(INT, login_start_limit, 60, OWN, "KmenLoginStartLimit", "kmen_login_start_limit")            \
    X(FLAG, cookie_secure, 1, OWN, "KmenCookieSecure", "kmen_cookie_secure")                       \
    /* __Host-: browsers take such a cookie only from this very host, so a sibling subdomain       \
     * can plant neither a session nor a login state; they take it only Secure */                  \
    X(STR, cookie_name, c->cookie_secure ? "__Host-kmen_session" : "kmen_session", OWN,            \
      "KmenCookieName", "kmen_cookie_name")                                                        \
    /* NIA writes NotBefore = IssueInstant: a NIA clock a little ahead of ours refuses every       \
     * login. 180 s as Shibboleth's default. */                                                    \
    X(INT, clock_skew, 180, OWN, "KmenClockSkew", "kmen_clock_skew")                               \
    X(STR, home_country, "CZ", OWN, "KmenHomeCountry", "kmen_home_country")                        \
    X(INT, pending_timeout, 3600, OWN, "KmenPendingTimeout", "kmen_pending_timeout")               \
    X(STR, error_document, NULL, OWN, "KmenErrorDocument", "kmen_error_document")                  \
    /* what the backend is told */                                                                 \
    X(STR, header_prefix, "Kmen-", OWN, "KmenHeaderPrefix", "kmen_header_prefix")                  \
    X(ENCODING, header_encoding, KMEN_ENCODING_PERCENT, OWN, "KmenHeaderEncoding",                 \
      "kmen_header_encoding")                                                                      \
    X(FILE, header_secret_file, NULL, OWN, "KmenHeaderSecretFile", "kmen_header_secret_file")

#define KMEN_DIR_FIELDS(X)                                                                         \
    X(LOA, min_loa, KMEN_LOA_SUBSTANTIAL, OWN, "KmenLoA", "kmen_loa")                              \
    /* of kmen_requested_attr */                                                                   \
    X(ATTRS, requested, &kmen_eidas_minimal_set, OWN, "KmenRequestedAttributes",                   \
      "kmen_requested_attributes")                                                                 \
    X(STR, sp_type, "public", OWN, "KmenSPType", "kmen_sp_type")                                   \
    /* this location gets Kmen-Aifo in this agenda */                                              \
    X(STR, agenda, NULL, OWN, "KmenAgenda", "kmen_agenda")                                         \
    /* 1: accept a foreigner's minimal data set, 0: verify the person first */                     \
    X(EIDAS, eidas_accept, 0, OWN, "KmenEidasPolicy", "kmen_eidas_policy")                         \
    X(STR, verify_path, NULL, OWN, "KmenVerifyPath", "kmen_verify_path")                           \
    X(FLAG, accept_contact, 0, OWN, "KmenAcceptContact", "kmen_accept_contact")                    \
    X(FLAG, allow_link, 0, OWN, "KmenAllowLink", "kmen_allow_link")                                \
    X(FLAG, accept_link_system, 0, OWN, "KmenAcceptLinkSystem", "kmen_accept_link_system")         \
    X(FLAG, accept_evidence_request, 0, OWN, "KmenAcceptEvidenceRequest",                          \
      "kmen_accept_evidence_request")                                                              \
    X(FLAG, cache_private, 1, OWN, "KmenCacheControlPrivate", "kmen_cache_control_private")        \
    X(FLAG, force_authn, 0, OWN, "KmenForceAuthn", "kmen_force_authn")

#endif
