-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 004: cross-border evidence for a client (single
-- digital gateway). A backend asks with Kmen-Evidence-Request; the person
-- approves or refuses at the evidence service, which calls back; the
-- document is kept as AES-256-GCM ciphertext made by the module.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (4);

CREATE TABLE kmen.evidence (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client bigint NOT NULL REFERENCES kmen.client (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type ~ '^[A-Za-z0-9._:-]{1,64}$'),
    country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    state text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'received', 'refused')),
    content_type text,
    document bytea,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_client ON kmen.evidence (client);

CREATE FUNCTION kmen.evidence_request(p_client_id uuid, p_type text, p_country text,
                                      p_request_id text)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_id uuid;
BEGIN
    INSERT INTO kmen.evidence (client, type, country)
    SELECT c.id, p_type, p_country FROM kmen.client c WHERE c.client_id = p_client_id
    RETURNING id INTO v_id;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('evidence', CASE WHEN v_id IS NULL THEN 'unknown_client' ELSE 'requested' END,
            p_type || ' ' || p_country, p_client_id, p_request_id);
    RETURN v_id;
END
$$;

-- The evidence service's callback. outcome: ok, unknown, already (a replay).
CREATE FUNCTION kmen.evidence_deliver(p_id uuid, p_state text, p_content_type text,
                                      p_document bytea, p_request_id text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_state text;
    v_client uuid;
BEGIN
    SELECT e.state, c.client_id INTO v_state, v_client
      FROM kmen.evidence e JOIN kmen.client c ON c.id = e.client
     WHERE e.id = p_id FOR UPDATE OF e;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    IF v_state <> 'requested' THEN
        RETURN 'already';
    END IF;
    UPDATE kmen.evidence SET state = p_state, content_type = p_content_type,
           document = p_document, updated = now()
     WHERE id = p_id;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('evidence', p_state, p_id::text, v_client, p_request_id);
    RETURN 'ok';
END
$$;

-- Kmen-Evidence: "<id>=<state>, …" of the client's requests, oldest first.
CREATE FUNCTION kmen.evidence_states(p_client_id uuid)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    SELECT string_agg(e.id::text || '=' || e.state, ',' ORDER BY e.created)
      FROM kmen.evidence e JOIN kmen.client c ON c.id = e.client
     WHERE c.client_id = p_client_id;
$$;

-- A received document, only for the client it belongs to.
CREATE FUNCTION kmen.evidence_document(p_id uuid, p_client_id uuid,
                                       OUT content_type text, OUT document bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    SELECT e.content_type, e.document
      FROM kmen.evidence e JOIN kmen.client c ON c.id = e.client
     WHERE e.id = p_id AND c.client_id = p_client_id AND e.state = 'received';
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA kmen FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kmen TO kmen_module;
REVOKE EXECUTE ON FUNCTION kmen.foreigner_create(bytea, text, text, date) FROM kmen_module;

RESET ROLE;
