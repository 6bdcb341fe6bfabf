/* SPDX-License-Identifier: GPL-2.0-or-later */
/* import-essl: the file side (import.c) and the register side (import_apply.c). */
#ifndef KMENCTL_IMPORT_H
#define KMENCTL_IMPORT_H

#include "kmenctl.h"
#include "progress.h"

typedef struct {
    PGconn *conn;
    const char *agenda; /* validated: ^A[0-9]{1,6}$ */
    long good;          /* rows sent to the staging table */
    long rejected;
    long added;
    int raced; /* concurrent first logins took some of the new AIFO */
    kmenctl_progress progress;
} kmenctl_essl_import;

/* Opens the transaction, creates the staging table and starts COPY into it:
 * columns line, aifo_index, aifo_sealed, family_name, given_name,
 * birth_date, systems (text[]), in COPY text format. */
int kmenctl_essl_stage_open(kmenctl_essl_import *im);
/* After the COPY: reports in-file duplicates, adds the new clients and every
 * row's systems, writes one audit row and commits. */
int kmenctl_essl_apply(kmenctl_essl_import *im);

#endif
