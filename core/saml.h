/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SAML service provider: AuthnRequest, Response checks, metadata, logout (lasso). */
#ifndef KMEN_SAML_H
#define KMEN_SAML_H

#include "apr_pools.h"
#include "apr_file_info.h"
#include "apr_tables.h"
#include "apr_time.h"

#include "conf_check.h"
#include "identity.h"

typedef struct kmen_sp kmen_sp;

/* What a child compares to notice a new IdP metadata file. */
typedef struct {
    apr_time_t mtime;
    apr_off_t size;
} kmen_idp_file;

/* mtime and size of PATH (zeros if it cannot be read). */
void kmen_idp_file_stat(const char *path, kmen_idp_file *out);

/* The SP may hold two key pairs while it rolls its key over: the first
 * signs, and NIA may encrypt to either. With separate encryption keys it
 * holds one or two signing pairs and one or two encryption pairs. */
#define KMEN_SP_KEYS_MAX 2
#define KMEN_SP_PAIRS_MAX (2 * KMEN_SP_KEYS_MAX)

/* What a key pair is for: without separate encryption keys each pair signs
 * (the first only) and decrypts. */
typedef enum {
    KMEN_KEY_SIGNS_AND_DECRYPTS = 0,
    KMEN_KEY_SIGNS,   /* KmenSPPrivateKeyFile beside KmenSPEncryptionKeyFile */
    KMEN_KEY_DECRYPTS /* KmenSPEncryptionKeyFile */
} kmen_sp_key_use;

typedef struct {
    const char *key_pem;
    const char *key_file; /* where key_pem came from, for messages */
    const char *cert_pem;
    const char *cert_file; /* where cert_pem came from */
    kmen_sp_key_use use;
} kmen_sp_key_pair;

typedef struct {
    const char *entity_id;
    const char *acs_url;
    const char *slo_url;
    /* the signing pairs first, then any encryption pairs; [0] signs, every
     * pair is published for its use(s) */
    kmen_sp_key_pair keys[KMEN_SP_PAIRS_MAX];
    int key_count;       /* 1 to 4 */
    const char *sp_type; /* eIDAS SPType the metadata publishes: public or private */
    const char *idp_metadata;
    const char *idp_metadata_file;     /* where idp_metadata came from: children re-read it */
    const char *idp_metadata_cert_pem; /* the pinned certificate(s) that sign it, or NULL */
    int nameid_policy;                 /* kmen_nameid_policy */
    kmen_spelling spelling;            /* the server's: its refusals name settings so */
} kmen_sp_params;

/* What a logout needs to name the login at the IdP. NameID is the BSI for
 * NIA logins: secret. */
typedef struct {
    const char *name_id;
    const char *name_id_format;
    const char *name_qualifier;
    const char *sp_name_qualifier;
    const char *session_index;
} kmen_login_ref;

typedef struct {
    kmen_loa min_loa;
    const char *sp_type;
    const apr_array_header_t *requested; /* of kmen_requested_attr */
    int force_authn;                     /* ForceAuthn="true": NIA authenticates anew */
} kmen_authn_params;

typedef struct {
    apr_time_t now;
    apr_interval_time_t skew;
    const char *request_id; /* the outstanding request this browser started */
} kmen_response_expect;

typedef struct {
    const char *assertion_id;
    apr_time_t not_on_or_after; /* until when a replay must be refused */
    kmen_login_ref ref;
    kmen_loa loa;
    const char *authn_instant;
    apr_array_header_t *attrs; /* of kmen_attr */
    int decryption_key;        /* which of kmen_sp_params.keys decrypted it (kmen_sp_pair) */
} kmen_assertion;

typedef enum {
    KMEN_RESPONSE_OK = 0,
    KMEN_RESPONSE_INVALID, /* forged, expired, unsolicited, malformed: 400 */
    KMEN_RESPONSE_FAILED   /* the IdP says the login failed or was cancelled: 401 */
} kmen_response_status;

enum { KMEN_SAML_LOG_ERROR = 0, KMEN_SAML_LOG_DEBUG, KMEN_SAML_LOG_TRACE };

/* Once per process, before any other call; log receives lasso's messages. */
void kmen_saml_library_init(void (*log)(const char *domain, int level, const char *msg));

/* The input of kmen_sp_create a refusal is about: the key or the certificate
 * of pair I of its params.keys (KMEN_SP_KEY_OF(I), KMEN_SP_CERT_OF(I)), or
 * the IdP's metadata. */
typedef int kmen_sp_input;
#define KMEN_SP_IDP_METADATA (-1)
#define KMEN_SP_KEY_OF(i) (2 * (i))
#define KMEN_SP_CERT_OF(i) (2 * (i) + 1)
#define KMEN_SP_PAIR_OF(input) ((input) / 2)
#define KMEN_SP_IS_CERT(input) ((input) % 2)

/* The setting of PAIR's key, or (CERT) of its certificate. */
kmen_conf_field kmen_sp_pair_field(const kmen_sp_key_pair *pair, int cert);
/* Pair I of KEYS (kmen_sp_params.keys) is the second of its directives: the
 * next key. */
int kmen_sp_pair_is_second(const kmen_sp_key_pair *keys, int i);
/* SP's key pairs, kmen_sp_params.keys (kmen_assertion.decryption_key is an index). */
const kmen_sp_key_pair *kmen_sp_pairs(const kmen_sp *sp);

/* Validates keys and metadata by building a LassoServer once; keeps the inputs.
 * With idp_metadata_cert_pem, the metadata must carry the signature of one of
 * those certificates. NULL, or what is wrong with the input *culprit ("is
 * encrypted: ..."), for a message that starts with its directive and file. */
const char *kmen_sp_create(apr_pool_t *p, const kmen_sp_params *params, kmen_sp **out,
                           kmen_sp_input *culprit);
/* Per child process: the pool of LassoServers requests borrow from, at most
 * MAX_SERVERS (the threads of a child) and KMEN_LASSO_SERVERS (saml_private.h). */
const char *kmen_sp_child_init(kmen_sp *sp, apr_pool_t *pchild, int max_servers);

int kmen_sp_child_ready(const kmen_sp *sp);

/* NULL if XML would be accepted as SP's IdP metadata, as kmen_sp_create and
 * kmen_sp_idp_refresh check it (the pinned signature first), else what is
 * wrong with it ("is not signed by ..."), for a message that names it first. */
const char *kmen_sp_idp_check(const kmen_sp *sp, apr_pool_t *p, const char *xml);

typedef enum {
    KMEN_IDP_UNCHANGED = 0,
    KMEN_IDP_RELOADED,
    KMEN_IDP_REFUSED /* the new file does not verify or load: the old metadata stays */
} kmen_idp_refresh_status;

/* Per child, before any other call of a request: at most once a second, a
 * stat of the IdP metadata file; when it changed, the file is read, checked
 * as at startup (kmen_sp_idp_check) and swapped in for every thread. *ERR (in
 * P) says why a changed file was refused: it is not read again until it
 * changes once more. */
kmen_idp_refresh_status kmen_sp_idp_refresh(kmen_sp *sp, apr_pool_t *p, const char **err);

const char *kmen_sp_metadata(const kmen_sp *sp);
/* *VALID_UNTIL: validUntil of the IdP metadata, 0 when it has none.
 * *SIGNING_EXPIRES: when the last of the IdP's signing certificates expires
 * (their latest notAfter): after it no Response of the IdP verifies. */
void kmen_sp_idp_dates(kmen_sp *sp, apr_time_t *valid_until, apr_time_t *signing_expires);

/* A signed HTTP-Redirect AuthnRequest: *url for the browser, *request_id for
 * the outstanding-request store. NULL or an error message. */
const char *kmen_saml_authn_request(kmen_sp *sp, apr_pool_t *p, const kmen_authn_params *params,
                                    const char **url, const char **request_id);

/* The InResponseTo of a base64 SAMLResponse, unverified: which login's
 * state the ACS looks for. NULL, or why its shape is refused (as
 * kmen_saml_verify_response would refuse it). */
const char *kmen_saml_response_in_response_to(apr_pool_t *p, const char *b64,
                                              const char **in_response_to);

/* Every check a base64 SAMLResponse must pass before anyone is logged in
 * (saml_response.c, docs/security.md). *reason says why it was
 * refused, for the error log (never the NameID or attribute values). */
kmen_response_status kmen_saml_verify_response(kmen_sp *sp, apr_pool_t *p, const char *b64,
                                               const kmen_response_expect *expect,
                                               kmen_assertion *out, const char **reason);

/* SP-initiated logout: the signed LogoutRequest URL to send the browser to,
 * and its ID (CSPRNG), which NIA's LogoutResponse names in InResponseTo. */
const char *kmen_saml_logout_request(kmen_sp *sp, apr_pool_t *p, const kmen_login_ref *ref,
                                     const char **url, const char **request_id);

/* What a LogoutResponse says. */
typedef struct {
    const char *in_response_to;
    const char *status; /* the top-level StatusCode */
    int success;
} kmen_logout_answer;

/* /slo with a LogoutResponse: by HTTP-Redirect (QUERY, the raw query string)
 * or by HTTP-POST (POST_B64, the SAMLResponse field). Signed or not, but a
 * signature it carries (query or XML) must be the IdP's; Destination must be
 * this SP's logout URL and Issuer the IdP. NULL and *out, or why not. Whether
 * InResponseTo names a logout this browser started is the caller's to check. */
const char *kmen_saml_logout_response_read(kmen_sp *sp, apr_pool_t *p, const char *query,
                                           const char *post_b64, kmen_logout_answer *out);

/* An IdP LogoutRequest as the replay cache knows it: carried out once. */
typedef struct {
    const char *id;
    apr_time_t replayable_until; /* no copy is accepted after this */
} kmen_message_ref;

/* How long after its IssueInstant an IdP LogoutRequest is accepted (plus the
 * clock skew): NIA's browser redirect delivers it at once. */
#define KMEN_LOGOUT_REQUEST_MAX_AGE apr_time_from_sec(300)

/* GET /slo with a LogoutRequest from the IdP, its query signature checked
 * first as above, its IssueInstant within EXPECT's clock (now and skew;
 * request_id unused): *ref names the login to end, *msg the message for the
 * replay cache, *url is the signed LogoutResponse to send the browser back
 * with. */
const char *kmen_saml_logout_request_consume(kmen_sp *sp, apr_pool_t *p, const char *query,
                                             const kmen_response_expect *expect,
                                             kmen_login_ref *ref, kmen_message_ref *msg,
                                             const char **url);

#endif
