/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the saml*.c files only. */
#ifndef KMEN_SAML_PRIVATE_H
#define KMEN_SAML_PRIVATE_H

#include <lasso/lasso.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_audience_restriction.h>
#include <lasso/xml/saml-2.0/saml2_authn_context.h>
#include <lasso/xml/saml-2.0/saml2_authn_statement.h>
#include <lasso/xml/saml-2.0/saml2_conditions.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation_data.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_extensions.h>
#include <lasso/xml/saml-2.0/samlp2_logout_request.h>
#include <lasso/xml/saml-2.0/samlp2_name_id_policy.h>
#include <lasso/xml/saml-2.0/samlp2_requested_authn_context.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <openssl/evp.h>
#include <xmlsec/keys.h>

#include "apr_reslist.h"
#include "apr_thread_rwlock.h"

#include "saml.h"
#include "xml.h"

#define KMEN_NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define KMEN_NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define KMEN_NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define KMEN_NS_XENC "http://www.w3.org/2001/04/xmlenc#"
#define KMEN_NS_EIDAS "http://eidas.europa.eu/saml-extensions"
#define KMEN_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define KMEN_NAMEFORMAT_URI "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
/* The signature algorithms of the policy (saml_shape.c), for XML and Redirect signatures. */
#define KMEN_ALG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define KMEN_ALG_RSA_SHA384 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
#define KMEN_ALG_RSA_SHA512 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"

/* What mod_kmen reads of the IdP's metadata itself. */
typedef struct {
    const char *entity_id;
    apr_time_t valid_until;               /* 0: the metadata has no validUntil */
    apr_array_header_t *signing_keys;     /* EVP_PKEY *, for kmen_redirect_verify */
    apr_array_header_t *xml_signing_keys; /* the same as xmlSecKey *, for kmen_signed_by_any */
    apr_time_t signing_expires;           /* the latest notAfter of their certificates */
} kmen_idp_facts;

/* A key pair of the SP as the decryption sees it: the key it decrypts with,
 * and how an EncryptedKey names its certificate. A signing-only pair is
 * there too, so that an assertion encrypted to it is refused by name. */
typedef struct {
    xmlSecKey *key;       /* NULL: the pair only signs */
    const char *serial;   /* the certificate's serial number, decimal */
    const char *cert_b64; /* the certificate's DER, base64 without blanks */
    /* KmenSPCertificateFile or KmenSPEncryptionCertificateFile, as SPELLING writes it */
    const char *cert_directive;
    const char *key_file;   /* for the refusal of a signing-only pair */
    kmen_spelling spelling; /* the server's, for the directives refusals name */
} kmen_sp_decryption_key;

/* What an EncryptedKey's ds:KeyInfo says of the key it was made for: NIA
 * (ADFS) names the certificate by X509IssuerSerial; others may give the
 * certificate itself, or nothing. NULL: not said. */
typedef struct {
    const char *serial;
    const char *cert_b64;
} kmen_key_reference;

struct kmen_sp {
    kmen_sp_params params;
    const char *metadata; /* this SP's metadata, fed to lasso and served at /metadata */
    kmen_idp_facts idp;
    apr_reslist_t *servers; /* per child: LassoServer objects reused across requests */
    /* Per child: a new IdP metadata file replaces idp, params.idp_metadata
     * and servers (all in idp_pool) under the write lock; every public
     * function using them holds the read lock (kmen_sp_use_begin). */
    apr_thread_rwlock_t *lock;
    apr_pool_t *idp_pool;
    int max_servers;
    kmen_idp_file idp_file;           /* the file the current metadata was read from */
    volatile apr_uint32_t checked_at; /* second of the last stat of that file */
    /* the only decryption keys (lasso's servers hold none), one per key pair */
    kmen_sp_decryption_key decryption_keys[KMEN_SP_PAIRS_MAX];
    EVP_PKEY *signing_key; /* the first pair's key once more, for kmen_redirect_sign */
};

/* NULL and *OUT (in P) if XML is usable IdP metadata for SP: signed by a
 * pinned certificate (if SP pins one), well-formed, in date, with an IdP
 * role lasso accepts beside SP's own metadata. Else what is wrong with the
 * input *CULPRIT (the IdP metadata, or the SP certificate lasso refused). */
const char *kmen_idp_load(apr_pool_t *p, const kmen_sp *sp, const char *xml, kmen_idp_facts *out,
                          kmen_sp_input *culprit);
/* LassoServers per child and IdP metadata file, at most. Each is built on
 * first use and costs about 600 M instructions (lasso gives it two xmlsec
 * keys managers, and each reads the system's CA certificates), some 50
 * logins' worth: one per thread (32) made every rise in concurrency pay for
 * new ones. The ACS needs none; a login start or a logout holds one for
 * lasso's part of the message only (well under a millisecond, the RSA
 * signature comes after), and a thread that finds both in use waits for one. */
#define KMEN_LASSO_SERVERS 2

/* The reslist of LassoServers for SP's current metadata, in POOL. */
const char *kmen_sp_servers_create(kmen_sp *sp, apr_pool_t *pool);
/* Around every public function that uses SP's IdP metadata: a new file is
 * swapped in only while no request uses the old one (saml_reload.c). */
void kmen_sp_use_begin(kmen_sp *sp);
void kmen_sp_use_end(kmen_sp *sp);

/* A LassoServer for the length of one request; never NULL on success. */
LassoServer *kmen_sp_server_acquire(kmen_sp *sp, const char **err);
void kmen_sp_server_release(kmen_sp *sp, LassoServer *server);

/* Loads the SP's private key for xmlsec; freed with P. NULL or an error.
 * KEY_FILE: where KEY_PEM came from, for the message. */
const char *kmen_sp_decryption_key_load(apr_pool_t *p, const char *key_pem, const char *key_file,
                                        xmlSecKey **out);
/* The serial number (decimal) and base64 DER of the PEM certificate CERT_PEM
 * into K; NULL, or why not. */
const char *kmen_sp_certificate_name(apr_pool_t *p, const char *cert_pem,
                                     kmen_sp_decryption_key *k);
/* What the EncryptedKey of ENCRYPTED_ASSERTION names (copies in P). */
kmen_key_reference kmen_encrypted_key_reference(apr_pool_t *p, xmlNode *encrypted_assertion);
/* REF names K's certificate, or names none at all. */
int kmen_key_reference_matches(const kmen_key_reference *ref, const kmen_sp_decryption_key *k);
/* The plaintext of ENCRYPTED_ASSERTION (*PLAIN, *LEN bytes, in P), decrypted
 * with the first of the COUNT KEYS its EncryptedKey's reference matches that
 * unwraps the content key (*USED: its index); NULL, or why not. The content
 * itself is decrypted once. A reference to a signing-only pair (key NULL)
 * is refused, naming its key, before anything is unwrapped. */
const char *kmen_encrypted_assertion_decrypt(apr_pool_t *p, xmlNode *encrypted_assertion,
                                             const kmen_sp_decryption_key *keys, int count,
                                             const char **plain, apr_size_t *len, int *used);

/* What saml_shape.c found of a Response that lasso may see; its nodes live
 * in a tree freed with the pool the check was given. */
typedef struct {
    xmlNode *root;                /* the samlp:Response */
    int signed_response;          /* a ds:Signature is a child of the Response */
    int encrypted;                /* EncryptedAssertion elements: 0 (a failure answer) or 1 */
    xmlNode *encrypted_assertion; /* that one, with exactly one EncryptedKey; NULL if none */
} kmen_response_shape;

/* NULL if the Response (base64) holds only what NIA sends: UTF-8 without a
 * NUL, no DOCTYPE, comment, CDATA or processing instruction, at most one
 * EncryptedAssertion laid out as NIA lays it (one EncryptedData, one
 * EncryptedKey) and no plaintext assertion, algorithms within policy,
 * xsi:type only on attribute values. Else why not. No key is used. */
const char *kmen_response_shape_check(apr_pool_t *p, const char *b64, kmen_response_shape *shape);
/* The same on the Response's XML (LEN bytes). */
const char *kmen_response_xml_check(apr_pool_t *p, const char *xml, apr_size_t len,
                                    kmen_response_shape *shape);
/* The same for a LogoutResponse (LEN bytes of XML): samlp:LogoutResponse at
 * the root, and no assertion at all. */
const char *kmen_logout_response_xml_check(apr_pool_t *p, const char *xml, apr_size_t len,
                                           kmen_response_shape *shape);
/* NULL and *DOC (freed with P) if the plaintext of an EncryptedAssertion
 * (LEN bytes) is one saml:Assertion under the same rules, made of SAML and
 * XML-DSig elements with text-only attribute values; else why not. */
const char *kmen_assertion_xml_read(apr_pool_t *p, const char *xml, apr_size_t len, xmlDoc **doc);
/* N has a ds:Signature child. */
int kmen_xml_has_signature_child(const xmlNode *n);

/* Loads the SP's private key for kmen_redirect_sign; freed with P. NULL or an error.
 * KEY_FILE: where KEY_PEM came from, for the message. */
const char *kmen_sp_signing_key_load(apr_pool_t *p, const char *key_pem, const char *key_file,
                                     EVP_PKEY **out);
/* The PEM password callback of every SP key load: it sets *(int *)ASKED and
 * gives no passphrase. OpenSSL's default would prompt on the terminal, and
 * `apachectl configtest` or the start would hang there. */
int kmen_sp_key_passphrase_refuse(char *buf, int size, int rwflag, void *asked);
/* The message for an encrypted KEY_FILE. */
const char *kmen_sp_key_encrypted(apr_pool_t *p, const char *key_file);
/* URL (an HTTP-Redirect message lasso built unsigned) with SigAlg and
 * Signature added; NULL on failure. */
const char *kmen_redirect_sign(apr_pool_t *p, EVP_PKEY *key, const char *url);

/* NULL if the HTTP-Redirect message in QUERY (SAMLRequest or SAMLResponse)
 * carries a signature by one of KEYS (EVP_PKEY *) within the algorithm
 * policy; else why not. Reads nothing of the message itself: what fails here
 * is never parsed. */
const char *kmen_redirect_verify(apr_pool_t *p, const apr_array_header_t *keys, const char *query);

/* Builds this SP's metadata from the parameters. */
const char *kmen_sp_metadata_build(apr_pool_t *p, const kmen_sp_params *params);
/* Reads entityID, validUntil and the signing keys (freed with P) of the
 * IdP's metadata; NULL or an error. */
const char *kmen_idp_metadata_read(apr_pool_t *p, const char *xml, kmen_idp_facts *facts);
/* NULL if the IdP metadata XML carries one enveloped XML-DSig signature over
 * its whole root element by one of the PEM certificates in PINNED_PEM (a
 * rollover pins two), within the algorithm policy; else why not ("is not
 * signed by" the pin's directive, spelt SPELLING). The signature's own
 * KeyInfo is never trusted. */
const char *kmen_idp_metadata_verify(apr_pool_t *p, const char *xml, const char *pinned_pem,
                                     kmen_spelling spelling);

/* ELEMENT's ID attribute (a copy in P), declared as an ID of its document so
 * that a Reference "#ID" finds ELEMENT; NULL if it has none, or another
 * element of the document holds that ID. */
const char *kmen_xml_declare_id(apr_pool_t *p, xmlNode *element);
/* SIGNATURE verifies with KEY (borrowed), and its one Reference names "#ID",
 * within the algorithm policy (exclusive C14N; inclusive too where
 * INCLUSIVE_C14N). The signature's KeyInfo is never read. */
int kmen_dsig_verifies(xmlNode *signature, xmlSecKey *key, const char *id, int inclusive_c14n);
/* ELEMENT carries one enveloped signature over itself, by its ID, that one
 * of KEYS (xmlSecKey *) verifies (exclusive C14N only). */
int kmen_signed_by_any(apr_pool_t *p, xmlNode *element, const apr_array_header_t *keys);
/* The public key of the DER certificate (LEN bytes) for xmlsec, freed with
 * P; NULL if it is none. */
xmlSecKey *kmen_xmlsec_certificate_key(apr_pool_t *p, const unsigned char *der, apr_size_t len);

/* One Response's checks under way (saml_response.c): the first refusal
 * stays in reason. */
typedef struct {
    apr_pool_t *p;
    kmen_sp *sp;
    const kmen_response_expect *expect;
    const char *reason;
} kmen_response_check;
/* Keeps REASON (unless C has one already); 0. */
int kmen_check_refuse(kmen_response_check *c, const char *reason);
/* Destination, Issuer and InResponseTo are this SP's, the IdP's and the
 * expected request's; else 0 and why in C. */
int kmen_check_envelope(kmen_response_check *c, const char *destination, const char *issuer,
                        const char *in_response_to);
/* The same, read from the samlp:Response element RESPONSE. */
int kmen_check_tree_envelope(kmen_response_check *c, xmlNode *response);
/* Whether the signature of the assertion (TREE, mod_kmen's decrypted and
 * checked one; A, lasso's node of it) verifies. */
typedef int (*kmen_assertion_verifier)(kmen_response_check *c, LassoSaml2Assertion *a,
                                       xmlNode *tree);
/* The EncryptedAssertion of SHAPE decrypted, its signature checked by
 * VERIFIES (required unless RESPONSE_SIGNED) and its content into OUT. */
kmen_response_status kmen_check_decrypted(kmen_response_check *c, const kmen_response_shape *shape,
                                          int response_signed, kmen_assertion_verifier verifies,
                                          kmen_assertion *out);
/* kmen_response_shape_check of B64, done once per pool and B64 pointer (the
 * ACS looks up InResponseTo, then verifies the same Response). */
const char *kmen_response_parsed(apr_pool_t *p, const char *b64, const kmen_response_shape **shape);

/* A lasso session holding just enough of the login (NameID, SessionIndex) for
 * lasso's logout profile. */
LassoSession *kmen_lasso_session_for(const char *idp_entity_id, const kmen_login_ref *ref);

#endif
