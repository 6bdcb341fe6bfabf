/* SPDX-License-Identifier: GPL-2.0-or-later */
/* import-essl: the file side (import.c) and the register side (import_apply.c). */
#ifndef KMENCTL_IMPORT_H
#define KMENCTL_IMPORT_H

#include "apr_hash.h"

#include "gateway.h"
#include "kmenctl.h"
#include "progress.h"

typedef struct {
    PGconn *conn;
    const char *agenda;       /* validated: ^A[0-9]{1,6}$ */
    kmenctl_gateway *gateway; /* NULL: rows without an AIFO are rejected */
    long good;                /* rows with an AIFO sent to the staging table */
    long potential_rows;      /* rows without one, sent as potential clients */
    long identified;          /* rows the gateway identified (among good) */
    long potential;           /* new potential clients */
    long rejected;
    long added;
    int raced; /* concurrent first logins took some of the new AIFO */
    int bulk;  /* an empty register: indexes dropped, built after the rows (import_bulk.c) */
    kmenctl_progress progress;
} kmenctl_essl_import;

/* The source_id of every name-register row that made a potential client in
 * the agenda (keys only, values unused); NULL after printing why not. */
apr_hash_t *kmenctl_essl_known_sources(apr_pool_t *p, kmenctl_essl_import *im);
/* "added N, matched N, rejected N", and ", identified N, potential N" when
 * rows without an AIFO were read: printed and written to the audit row. */
const char *kmenctl_essl_summary(apr_pool_t *p, const kmenctl_essl_import *im);
/* Opens the transaction, creates the staging table and starts COPY into it:
 * columns line, aifo_index, aifo_sealed, family_name, given_name,
 * birth_date, systems (text[]), source_id, in COPY text format; a potential
 * client's row has no AIFO (\N), another no source_id. */
int kmenctl_essl_stage_open(kmenctl_essl_import *im);
/* After the COPY: reports in-file duplicates, adds the new clients and every
 * row's systems, writes one audit row and commits. */
int kmenctl_essl_apply(kmenctl_essl_import *im);
/* import_bulk.c: on an empty register, locks the tables the import fills and
 * drops their indexes, saving the definitions (im->bulk); 0 also when the
 * register is not empty (nothing done), -1 on an error. */
int kmenctl_essl_bulk_begin(kmenctl_essl_import *im);
/* Builds again what kmenctl_essl_bulk_begin dropped; 0 when it dropped nothing. */
int kmenctl_essl_bulk_end(kmenctl_essl_import *im);

#endif
