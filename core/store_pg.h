/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The register's database: a per-child libpq connection pool and one call per
 * sql/ function. Every call answers KMEN_STORE_OK, or KMEN_STORE_DOWN when the
 * database cannot be reached (the caller shows the 503 page). */
#ifndef KMEN_STORE_PG_H
#define KMEN_STORE_PG_H

#include "apr_tables.h"
#include "apr_time.h"

#include "context.h"

typedef struct kmen_store kmen_store;

typedef enum { KMEN_STORE_OK = 0, KMEN_STORE_NOT_FOUND, KMEN_STORE_DOWN } kmen_store_status;

/* NULL, or libpq's reason (one line) why it cannot parse CONNINFO. */
const char *kmen_store_conninfo_check(apr_pool_t *p, const char *conninfo);
kmen_store *kmen_store_create(apr_pool_t *p, const char *conninfo, int pool_size);
/* Per child: connections are opened lazily, so a database that is down when
 * httpd starts is no reason to refuse to start. */
apr_status_t kmen_store_child_init(kmen_store *store, apr_pool_t *pchild);

kmen_store_status kmen_store_ping(kmen_ctx *ctx, kmen_store *store);

/* The request's further calls on STORE make one transaction, on one
 * connection, until kmen_store_commit: a login's work is kept whole or not at
 * all. A call that fails in it is not retried (DOWN); then the commit rolls
 * everything back and answers DOWN. OK, or DOWN when no connection could
 * begin one (each broken pooled connection is dropped and another tried, as
 * for a single call). */
kmen_store_status kmen_store_begin(kmen_ctx *ctx, kmen_store *store);
/* Ends the request's transaction: OK when committed; DOWN when a call in it
 * failed (rolled back) or the commit itself did. */
kmen_store_status kmen_store_commit(kmen_ctx *ctx, kmen_store *store);

/* An outstanding AuthnRequest ID, found again by STATE_HASH (the SHA-256 of
 * the browser's login state). */
kmen_store_status kmen_store_request_issue(kmen_ctx *ctx, kmen_store *store, const char *id,
                                           const unsigned char *state_hash, const char *return_to,
                                           int min_loa, int ttl, int eidas_accept);
/* OK and *id, or NOT_FOUND (consumed, expired, never issued), or DOWN. */
kmen_store_status kmen_store_request_by_state(kmen_ctx *ctx, kmen_store *store,
                                              const unsigned char *state_hash, const char **id);

typedef struct {
    const char *outcome; /* ok, replay, unknown_request */
    const char *return_to;
    int min_loa;
    int eidas_accept; /* the KmenEidasPolicy where the login started */
} kmen_login_consumed;

/* Remembers the message KIND:ID until UNTIL: OK the first time, NOT_FOUND for
 * a copy (a replay), DOWN. Shares the replay cache with assertion IDs. */
kmen_store_status kmen_store_message_first_seen(kmen_ctx *ctx, kmen_store *store, const char *kind,
                                                const char *id, apr_time_t until);
kmen_store_status kmen_store_login_consume(kmen_ctx *ctx, kmen_store *store, const char *request_id,
                                           const char *assertion_id, apr_time_t assertion_expires,
                                           kmen_login_consumed *out);

kmen_store_status kmen_store_session_create(kmen_ctx *ctx, kmen_store *store,
                                            const unsigned char *id_hash,
                                            const unsigned char *subject, const char *session_index,
                                            const void *payload, apr_size_t payload_len,
                                            int lifetime);
kmen_store_status kmen_store_session_fetch(kmen_ctx *ctx, kmen_store *store,
                                           const unsigned char *id_hash, int idle,
                                           const unsigned char **payload, apr_size_t *len,
                                           int *remaining);
kmen_store_status kmen_store_session_delete(kmen_ctx *ctx, kmen_store *store,
                                            const unsigned char *id_hash);
/* Deleted session keys (32 bytes each) in *hashes. */
kmen_store_status kmen_store_session_delete_subject(kmen_ctx *ctx, kmen_store *store,
                                                    const unsigned char *subject,
                                                    const char *session_index,
                                                    apr_array_header_t **hashes);

kmen_store_status kmen_store_audit(kmen_ctx *ctx, kmen_store *store, const char *event,
                                   const char *outcome, const char *detail);
/* An audit row about one client. */
kmen_store_status kmen_store_audit_client(kmen_ctx *ctx, kmen_store *store, const char *event,
                                          const char *outcome, const char *detail,
                                          const char *client_id);

/* The register (sql/002_register.sql). */
typedef struct {
    const char *client_id;
    const char *status; /* new, linked, returning */
    const char *systems;
    const char *merged_from;
    int has_evidence; /* Kmen-Evidence applies to this client's sessions */
    int bsi_only;     /* a citizen known by BSI alone: no AIFO yet (sql/011_bsi_only.sql) */
} kmen_resolved;

typedef struct {
    const unsigned char *bsi_index;
    const char *agenda;
    const unsigned char *aifo_index;
    const unsigned char *aifo_sealed;
    apr_size_t aifo_sealed_len;
    const char *given_name, *family_name, *birth_date;
} kmen_first_login;

/* A citizen's login: NOT_FOUND when the BSI is not linked to a client yet. */
kmen_store_status kmen_store_resolve_bsi(kmen_ctx *ctx, kmen_store *store,
                                         const unsigned char *bsi_index, kmen_resolved *out);
/* A citizen's first login, after translation, in one transaction: the client
 * holding the AIFO, or a new one. */
kmen_store_status kmen_store_resolve_first(kmen_ctx *ctx, kmen_store *store,
                                           const kmen_first_login *in, kmen_resolved *out);
/* KmenTranslatorURL none: a citizen's first login makes a client known by
 * the BSI alone (in->bsi_index and the names; no AIFO). */
kmen_store_status kmen_store_resolve_bsi_only(kmen_ctx *ctx, kmen_store *store,
                                              const kmen_first_login *in, kmen_resolved *out);
/* A client known by BSI alone, once its BSI is translated: the AIFO attached,
 * or the client merged into the one holding it, in one transaction.
 * *outcome: attached, merged, conflict, already. */
kmen_store_status kmen_store_attach_aifo(kmen_ctx *ctx, kmen_store *store,
                                         const kmen_first_login *in, kmen_resolved *out,
                                         const char **outcome);
kmen_store_status kmen_store_link_system(kmen_ctx *ctx, kmen_store *store, const char *client_id,
                                         const char *system);
/* KmenAgenda: the client's sealed AIFO in an agenda (NOT_FOUND if none yet). */
kmen_store_status kmen_store_agenda_aifo(kmen_ctx *ctx, kmen_store *store, const char *client_id,
                                         const char *agenda, const unsigned char **sealed,
                                         apr_size_t *len);
kmen_store_status kmen_store_agenda_aifo_store(kmen_ctx *ctx, kmen_store *store,
                                               const char *client_id, const char *agenda,
                                               const unsigned char *index,
                                               const unsigned char *sealed, apr_size_t len);

/* Foreign clients (sql/003_foreign.sql). */
typedef struct {
    const unsigned char *pseudonym_index;
    const char *given_name, *family_name, *birth_date;
} kmen_foreigner;

/* A foreigner's login: NOT_FOUND when the pseudonym is unknown. */
kmen_store_status kmen_store_resolve_pseudonym(kmen_ctx *ctx, kmen_store *store,
                                               const unsigned char *pseudonym_index,
                                               kmen_resolved *out);
/* A foreigner's first login, KmenEidasPolicy accept. */
kmen_store_status kmen_store_foreigner_accept(kmen_ctx *ctx, kmen_store *store,
                                              const kmen_foreigner *in, kmen_resolved *out);
/* A foreigner's first login, KmenEidasPolicy verify: the pending
 * verification's identifier. */
kmen_store_status kmen_store_pending_create(kmen_ctx *ctx, kmen_store *store,
                                            const kmen_foreigner *in, int ttl,
                                            const char **pending_id);
/* Kmen-Complete: link NULL for "new". *outcome: new, linked, returning,
 * expired, unknown_client, already_linked. */
kmen_store_status kmen_store_pending_complete(kmen_ctx *ctx, kmen_store *store,
                                              const char *pending_id, const char *link,
                                              const char **outcome, kmen_resolved *out);
kmen_store_status kmen_store_session_update(kmen_ctx *ctx, kmen_store *store,
                                            const unsigned char *id_hash, const void *payload,
                                            apr_size_t payload_len);

/* Cross-border evidence (sql/004_evidence.sql). */
kmen_store_status kmen_store_evidence_request(kmen_ctx *ctx, kmen_store *store,
                                              const char *client_id, const char *type,
                                              const char *country, const char **id);
/* *outcome: ok, unknown, already. */
kmen_store_status kmen_store_evidence_deliver(kmen_ctx *ctx, kmen_store *store, const char *id,
                                              const char *state, const char *content_type,
                                              const unsigned char *document, apr_size_t len,
                                              const char **outcome);
/* NOT_FOUND: the client has asked for no evidence. */
kmen_store_status kmen_store_evidence_states(kmen_ctx *ctx, kmen_store *store,
                                             const char *client_id, const char **states);
/* NOT_FOUND unless received and the client's own. */
kmen_store_status kmen_store_evidence_document(kmen_ctx *ctx, kmen_store *store, const char *id,
                                               const char *client_id, const char **content_type,
                                               const unsigned char **document, apr_size_t *len);

/* Potential clients and merging (sql/006_potential_merge.sql). */
typedef struct {
    /* email, phone, name: blind index (NULL when not given) and ciphertext */
    const unsigned char *index[3];
    const unsigned char *sealed[3];
    apr_size_t sealed_len[3];
} kmen_contact;

kmen_store_status kmen_store_potential_create(kmen_ctx *ctx, kmen_store *store,
                                              const kmen_contact *contact, const char **client_id);
/* *outcome: linked, unknown_client, not_potential, conflict. */
kmen_store_status kmen_store_link_potential(kmen_ctx *ctx, kmen_store *store, const char *current,
                                            const char *potential, const char **outcome,
                                            kmen_resolved *out);

/* The status page: audit outcomes of the last hours, and this process's pool. */
typedef struct {
    const char *event, *outcome;
    apr_int64_t count;
} kmen_audit_count;

kmen_store_status kmen_store_audit_summary(kmen_ctx *ctx, kmen_store *store, int hours,
                                           apr_array_header_t **rows);
void kmen_store_pool_use(const kmen_store *store, int *in_use, int *size);

#endif
