-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 005: one AIFO per client and agenda; indexes for purge.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (5);

-- A client has at most one AIFO in an agenda (kmen.agenda_aifo() and the
-- merge of kmenctl notify rely on it).
DROP INDEX kmen.client_aifo_client;
CREATE UNIQUE INDEX client_aifo_client_agenda ON kmen.client_aifo (client, agenda);

-- kmenctl purge deletes by expiry and age.
CREATE INDEX session_expires ON kmen.session (expires);
CREATE INDEX replay_expires ON kmen.replay (expires);
CREATE INDEX authn_request_expires ON kmen.authn_request (expires);
CREATE INDEX pending_expires ON kmen.pending (expires);
CREATE INDEX audit_at ON kmen.audit (at);

RESET ROLE;
