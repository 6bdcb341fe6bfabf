-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 011: a register without a translation gateway
-- (KmenTranslatorURL none), for an authority without access to the base
-- registers. A first NIA login makes a client known by its BSI alone. Once a
-- gateway is configured, that client's next login translates the BSI once and
-- attaches the AIFO, or merges the client into the one that already holds that
-- AIFO (an eSSL import, say), which keeps its identifier.
--
-- "Known by BSI alone" is not a flag of its own: it is a client linked to a
-- BSI that holds no AIFO in any agenda, which nothing else produces.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (11);

-- As in migration 006, and whether the client is known by its BSI alone (the
-- module then tries to attach an AIFO when it has a gateway). Still one round
-- trip: the test is one probe of client_aifo's index on client.
DROP FUNCTION kmen.resolve_bsi(bytea, text);
CREATE FUNCTION kmen.resolve_bsi(p_bsi bytea, p_request_id text,
                                 OUT client_id uuid, OUT systems text, OUT merged_from text,
                                 OUT has_evidence boolean, OUT bsi_only boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    SELECT c.id, c.client_id INTO v_client, client_id
      FROM kmen.client_bsi b JOIN kmen.client c ON c.id = b.client
     WHERE b.bsi_index = p_bsi;
    IF FOUND THEN
        systems := kmen.client_systems(v_client);
        merged_from := kmen.announce_merges(v_client);
        has_evidence := EXISTS (SELECT 1 FROM kmen.evidence e WHERE e.client = v_client);
        bsi_only := NOT EXISTS (SELECT 1 FROM kmen.client_aifo a WHERE a.client = v_client);
        INSERT INTO kmen.audit (event, outcome, client_id, request_id)
        VALUES ('resolve', 'returning', client_id, p_request_id);
    END IF;
END
$$;

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

-- A client known by BSI alone, after the gateway translated that BSI into
-- the register agenda's AIFO (p_aifo, p_aifo_sealed), in one transaction with
-- its audit row (event upgrade). outcome:
--   attached  nobody held the AIFO: it is the client's now (status returning);
--   merged    another client held it (an eSSL import): the BSI-only client is
--             merged into that one, which keeps its identifier; the merged
--             identifier is announced (status linked, merged_from);
--   conflict  the merge was refused (see merge_clients): nothing changed;
--   already   a concurrent login of the same person did it first.
CREATE FUNCTION kmen.attach_aifo(p_bsi bytea, p_agenda text, p_aifo bytea, p_aifo_sealed bytea,
                                 p_request_id text,
                                 OUT outcome text, OUT client_id uuid, OUT status text,
                                 OUT systems text, OUT merged_from text,
                                 OUT has_evidence boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
    v_holder bigint;
BEGIN
    -- Two logins of one person upgrade one after the other.
    PERFORM 1 FROM kmen.client c JOIN kmen.client_bsi b ON b.client = c.id
     WHERE b.bsi_index = p_bsi FOR UPDATE OF c;
    SELECT b.client INTO v_client FROM kmen.client_bsi b WHERE b.bsi_index = p_bsi;
    SELECT a.client INTO v_holder FROM kmen.client_aifo a
     WHERE a.agenda = p_agenda AND a.aifo_index = p_aifo;
    IF v_client IS NULL OR EXISTS (SELECT 1 FROM kmen.client_aifo a WHERE a.client = v_client) THEN
        outcome := 'already';
    ELSIF v_holder IS NULL THEN
        INSERT INTO kmen.client_aifo (agenda, aifo_index, aifo_sealed, client)
        VALUES (p_agenda, p_aifo, p_aifo_sealed, v_client);
        outcome := 'attached';
    ELSE
        outcome := kmen.merge_clients(
            (SELECT c.client_id FROM kmen.client c WHERE c.id = v_holder),
            (SELECT c.client_id FROM kmen.client c WHERE c.id = v_client),
            'bsi only', p_request_id);
        IF outcome = 'merged' THEN
            v_client := v_holder;
        END IF;
    END IF;
    status := CASE outcome WHEN 'merged' THEN 'linked' ELSE 'returning' END;
    SELECT r.client_id, r.systems, r.merged_from, r.has_evidence
      INTO client_id, systems, merged_from, has_evidence
      FROM kmen.resolved_client(v_client) r;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('upgrade', outcome, NULL, client_id, p_request_id);
END
$$;

REVOKE ALL ON FUNCTION kmen.resolve_bsi(bytea, text), kmen.resolved_client(bigint),
                       kmen.resolve_bsi_only(bytea, text, text, date, text),
                       kmen.attach_aifo(bytea, text, bytea, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kmen.resolve_bsi(bytea, text),
                          kmen.resolve_bsi_only(bytea, text, text, date, text),
                          kmen.attach_aifo(bytea, text, bytea, bytea, text) TO kmen_module;

RESET ROLE;
