-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 011: a register without a translation gateway
-- (KmenTranslatorURL none), for an authority without access to the base
-- registers. A first NIA login makes a client known by its BSI alone.
--
-- "Known by BSI alone" is not a flag of its own: it is a client linked to a
-- BSI that holds no AIFO in any agenda, which nothing else produces.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (11);

-- The client's answer to a login, as resolve_first gives it.
CREATE FUNCTION kmen.resolved_client(p_client bigint,
                                     OUT client_id uuid, OUT systems text, OUT merged_from text,
                                     OUT has_evidence boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
BEGIN
    SELECT c.client_id INTO client_id FROM kmen.client c WHERE c.id = p_client;
    systems := kmen.client_systems(p_client);
    merged_from := kmen.announce_merges(p_client);
    has_evidence := EXISTS (SELECT 1 FROM kmen.evidence e WHERE e.client = p_client);
END
$$;

-- KmenTranslatorURL none: the first NIA login of a BSI makes a client known
-- by that BSI alone (status new). Of two first logins of one person at the
-- same moment, the second waits for the first's BSI row and takes its client
-- (returning).
CREATE FUNCTION kmen.resolve_bsi_only(p_bsi bytea, p_given text, p_family text, p_birth date,
                                      p_request_id text,
                                      OUT client_id uuid, OUT status text, OUT systems text,
                                      OUT merged_from text, OUT has_evidence boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    INSERT INTO kmen.client (source, family_name, given_name, birth_date)
    VALUES ('nia', p_family, p_given, p_birth) RETURNING id INTO v_client;
    INSERT INTO kmen.client_bsi (bsi_index, client) VALUES (p_bsi, v_client)
    ON CONFLICT (bsi_index) DO NOTHING;
    IF FOUND THEN
        status := 'new';
    ELSE
        DELETE FROM kmen.client WHERE id = v_client;
        SELECT b.client INTO v_client FROM kmen.client_bsi b WHERE b.bsi_index = p_bsi;
        status := 'returning';
    END IF;
    SELECT r.client_id, r.systems, r.merged_from, r.has_evidence
      INTO client_id, systems, merged_from, has_evidence
      FROM kmen.resolved_client(v_client) r;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('resolve', status, 'bsi only', client_id, p_request_id);
END
$$;

REVOKE ALL ON FUNCTION kmen.resolved_client(bigint),
                       kmen.resolve_bsi_only(bytea, text, text, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kmen.resolve_bsi_only(bytea, text, text, date, text) TO kmen_module;

RESET ROLE;
