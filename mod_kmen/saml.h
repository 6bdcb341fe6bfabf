/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SAML service provider: AuthnRequest, Response checks, metadata, logout (lasso). */
#ifndef KMEN_SAML_H
#define KMEN_SAML_H

#include "apr_pools.h"
#include "apr_tables.h"
#include "apr_file_info.h"
#include "apr_time.h"

#include "identity.h"

typedef struct kmen_sp kmen_sp;

/* What a child compares to notice a new IdP metadata file. */
typedef struct {
    apr_time_t mtime;
    apr_off_t size;
} kmen_idp_file;

/* mtime and size of PATH (zeros if it cannot be read). */
void kmen_idp_file_stat(const char *path, kmen_idp_file *out);

typedef struct {
    const char *entity_id;
    const char *acs_url;
    const char *slo_url;
    const char *key_pem;
    const char *key_file; /* where key_pem came from, for messages */
    const char *cert_pem;
    const char *sp_type; /* eIDAS SPType the metadata publishes: public or private */
    const char *idp_metadata;
    const char *idp_metadata_file;     /* where idp_metadata came from: children re-read it */
    const char *idp_metadata_cert_pem; /* the pinned certificate(s), or NULL */
    int nameid_policy;                 /* kmen_nameid_policy */
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
} kmen_assertion;

typedef enum {
    KMEN_RESPONSE_OK = 0,
    KMEN_RESPONSE_INVALID, /* forged, expired, unsolicited, malformed: 400 */
    KMEN_RESPONSE_FAILED   /* the IdP says the login failed or was cancelled: 401 */
} kmen_response_status;

enum { KMEN_SAML_LOG_ERROR = 0, KMEN_SAML_LOG_DEBUG, KMEN_SAML_LOG_TRACE };

/* Once per process, before any other call; log receives lasso's messages. */
void kmen_saml_library_init(void (*log)(const char *domain, int level, const char *msg));

/* NULL if the IdP metadata XML carries one enveloped XML-DSig signature over
 * its whole root element by one of the PEM certificates in PINNED_PEM (a
 * rollover pins two), within the algorithm policy; else why not, to follow
 * "the IdP metadata ". The signature's own KeyInfo is never trusted. */
const char *kmen_idp_metadata_verify(apr_pool_t *p, const char *xml, const char *pinned_pem);

/* NULL if XML would load as SP's IdP metadata (as kmen_sp_create checks it),
 * else why not. */
const char *kmen_sp_idp_check(const kmen_sp *sp, apr_pool_t *p, const char *xml);

/* Validates keys and metadata by building a LassoServer once; keeps the inputs. */
const char *kmen_sp_create(apr_pool_t *p, const kmen_sp_params *params, kmen_sp **out);
/* Per child process: the pool of LassoServers requests borrow from. */
const char *kmen_sp_child_init(kmen_sp *sp, apr_pool_t *pchild, int max_servers);

int kmen_sp_child_ready(const kmen_sp *sp);

typedef enum {
    KMEN_IDP_UNCHANGED = 0,
    KMEN_IDP_RELOADED,
    KMEN_IDP_REFUSED /* the new file does not verify or load: the old metadata stays */
} kmen_idp_refresh_status;

/* Per child, before kmen_sp_use_begin: at most once a second, a stat of the
 * IdP metadata file; when it changed, the file is read, verified against the
 * pinned certificate(s) as at startup, and loaded. *ERR says why a new file
 * was refused. */
kmen_idp_refresh_status kmen_sp_idp_refresh(kmen_sp *sp, apr_pool_t *p, const char **err);

const char *kmen_sp_metadata(const kmen_sp *sp);
const char *kmen_sp_idp_entity_id(const kmen_sp *sp);
/* *VALID_UNTIL: validUntil of the IdP metadata, 0 when it has none.
 * *SIGNING_EXPIRES: when the last of the IdP's signing certificates expires
 * (their latest notAfter): after it no Response of the IdP verifies. */
void kmen_sp_idp_dates(kmen_sp *sp, apr_time_t *valid_until, apr_time_t *signing_expires);

/* A signed HTTP-Redirect AuthnRequest: *url for the browser, *request_id for
 * the outstanding-request store. NULL or an error message. */
const char *kmen_saml_authn_request(kmen_sp *sp, apr_pool_t *p, const kmen_authn_params *params,
                                    const char **url, const char **request_id);

/* Every check of DESIGN.md on a base64 SAMLResponse. *reason says why it was
 * refused, for the error log (never the NameID or attribute values). */
kmen_response_status kmen_saml_verify_response(kmen_sp *sp, apr_pool_t *p, const char *b64,
                                               const kmen_response_expect *expect,
                                               kmen_assertion *out, const char **reason);

/* SP-initiated logout: the signed LogoutRequest URL to send the browser to. */
const char *kmen_saml_logout_request(kmen_sp *sp, apr_pool_t *p, const kmen_login_ref *ref,
                                     const char *relay_state, const char **url);

/* GET /slo with a LogoutResponse: verified and successful? The query
 * signature is checked against the IdP's keys before lasso parses anything
 * (lasso's parser ends the process on some malformed messages). */
const char *kmen_saml_logout_response(kmen_sp *sp, apr_pool_t *p, const char *query);

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
