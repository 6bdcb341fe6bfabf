-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 013: a returning login's database work made cheap. The
-- module now sends a login's calls (login_consume, resolve_bsi, session_create,
-- audit_append) in one transaction with one commit; what each call costs is
-- then what it runs, not its commit.
--
-- Two costs go: a LANGUAGE sql function that PostgreSQL cannot inline (every
-- SECURITY DEFINER one) is parsed and planned again at every call, where a
-- PL/pgSQL function keeps its plans for the connection's life; and a SECURITY
-- DEFINER function with SET search_path calling another such function saves
-- and restores the setting at each level. The functions below are PL/pgSQL,
-- and resolve_bsi reads the client, its systems, its announced merges, its
-- evidence and whether it holds an AIFO in one statement, calling no other
-- function. Signatures, owners and grants stay: kmen_module still only
-- EXECUTEs them.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (13);

-- As in migration 011, in one statement: the client by the BSI's blind index,
-- its merges announced once (client_alias.announced), the audit row of the
-- resolution. client_id NULL when the BSI is not linked yet (then nothing is
-- written).
CREATE OR REPLACE FUNCTION kmen.resolve_bsi(p_bsi bytea, p_request_id text,
                                            OUT client_id uuid, OUT systems text,
                                            OUT merged_from text, OUT has_evidence boolean,
                                            OUT bsi_only boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
BEGIN
    WITH hit AS (
        SELECT c.id, c.client_id AS uuid
          FROM kmen.client_bsi b JOIN kmen.client c ON c.id = b.client
         WHERE b.bsi_index = p_bsi),
    told AS (
        UPDATE kmen.client_alias a SET announced = true
          FROM hit h
         WHERE a.client = h.id AND NOT a.announced
        RETURNING a.alias, a.merged),
    logged AS (
        INSERT INTO kmen.audit (event, outcome, client_id, request_id)
        SELECT 'resolve', 'returning', h.uuid, p_request_id FROM hit h)
    SELECT h.uuid,
           (SELECT string_agg(s.system, ',' ORDER BY s.system)
              FROM kmen.client_system s WHERE s.client = h.id),
           (SELECT string_agg(t.alias::text, ',' ORDER BY t.merged) FROM told t),
           EXISTS (SELECT 1 FROM kmen.evidence e WHERE e.client = h.id),
           NOT EXISTS (SELECT 1 FROM kmen.client_aifo a WHERE a.client = h.id)
      INTO client_id, systems, merged_from, has_evidence, bsi_only
      FROM hit h;
END
$$;

CREATE OR REPLACE FUNCTION kmen.session_create(p_id_hash bytea, p_subject bytea,
                                               p_session_index text, p_payload bytea,
                                               p_lifetime integer)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
BEGIN
    INSERT INTO kmen.session (id_hash, subject, session_index, payload, expires)
    VALUES (p_id_hash, p_subject, p_session_index, p_payload,
            now() + make_interval(secs => p_lifetime));
END
$$;

CREATE OR REPLACE FUNCTION kmen.audit_append(p_event text, p_outcome text, p_detail text,
                                             p_request_id text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
BEGIN
    INSERT INTO kmen.audit (event, outcome, detail, request_id)
    VALUES (p_event, p_outcome, p_detail, p_request_id);
END
$$;

RESET ROLE;
