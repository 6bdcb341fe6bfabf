-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 012: the register follows the base registers by itself.
--
-- kmenctl import-essl identifies, through the translation gateway, the name
-- register's people who have no AIFO; those it cannot identify become
-- potential clients, found again on the next import by the row's source id.
-- kmenctl sync subscribes every AIFO of the register to ISZR's change
-- notifications once, and reads the change feed from the cursor kept here,
-- advancing it in the transaction that applies each event.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (12);

-- A name-register row that became a potential client: its own key in the
-- name register (not personal data) and the client it made. The client
-- identifier, not the row id: kmen.client_of() still finds the client after a
-- merge, when the identifier has become an alias.
CREATE TABLE kmen.essl_source (
    agenda text NOT NULL CHECK (agenda ~ '^A[0-9]{1,6}$'),
    source_id text NOT NULL CHECK (source_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    client_id uuid NOT NULL,
    imported timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agenda, source_id)
);

-- When the gateway confirmed the subscription of this AIFO; NULL: not yet
-- (a new client, or an AIFO that a change event has just replaced).
ALTER TABLE kmen.client_aifo ADD COLUMN subscribed timestamptz;
CREATE INDEX client_aifo_unsubscribed ON kmen.client_aifo (agenda) WHERE subscribed IS NULL;

-- How far kmenctl sync has read the agenda's change feed: the gateway's
-- cursor after the last event applied or skipped.
CREATE TABLE kmen.sync_cursor (
    agenda text PRIMARY KEY CHECK (agenda ~ '^A[0-9]{1,6}$'),
    cursor text NOT NULL,
    updated timestamptz NOT NULL DEFAULT now()
);

RESET ROLE;
