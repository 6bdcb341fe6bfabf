-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 003: foreign (eIDAS) clients, first logins and returning ones.
--
-- A foreigner brings only the eIDAS minimal data set and a pseudonym nobody
-- can check. The authority decides per location (KmenEidasPolicy) whether
-- that suffices (accept: a client at once) or the person must be verified
-- first (verify: a pending verification until the backend completes it).

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (3);

-- Where the login started decides the policy: it travels with the request.
ALTER TABLE kmen.authn_request ADD COLUMN eidas_accept boolean NOT NULL DEFAULT false;

CREATE TABLE kmen.pending (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pseudonym_index bytea NOT NULL CHECK (length(pseudonym_index) = 32),
    given_name text,
    family_name text,
    birth_date date,
    created timestamptz NOT NULL DEFAULT now(),
    expires timestamptz NOT NULL
);
CREATE INDEX pending_pseudonym ON kmen.pending (pseudonym_index);

DROP FUNCTION kmen.request_issue(text, text, integer, integer);
CREATE FUNCTION kmen.request_issue(p_id text, p_return_to text, p_min_loa integer,
                                   p_ttl integer, p_eidas_accept boolean)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    INSERT INTO kmen.authn_request (id, return_to, min_loa, expires, eidas_accept)
    VALUES (p_id, p_return_to, p_min_loa, now() + make_interval(secs => p_ttl),
            p_eidas_accept);
$$;

DROP FUNCTION kmen.login_consume(text, text, timestamptz);
CREATE FUNCTION kmen.login_consume(p_request_id text, p_assertion_id text,
                                   p_assertion_expires timestamptz,
                                   OUT outcome text, OUT return_to text,
                                   OUT min_loa integer, OUT eidas_accept boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
BEGIN
    INSERT INTO kmen.replay (assertion_id, expires)
    VALUES (p_assertion_id, p_assertion_expires)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        outcome := 'replay';
        RETURN;
    END IF;
    DELETE FROM kmen.authn_request r
     WHERE r.id = p_request_id AND r.expires > now()
    RETURNING r.return_to, r.min_loa, r.eidas_accept INTO return_to, min_loa, eidas_accept;
    outcome := CASE WHEN FOUND THEN 'ok' ELSE 'unknown_request' END;
END
$$;

-- A known foreigner, by pseudonym; client_id NULL when unknown.
CREATE FUNCTION kmen.resolve_pseudonym(p_pseudonym bytea, p_request_id text,
                                       OUT client_id uuid, OUT systems text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    SELECT c.id, c.client_id INTO v_client, client_id
      FROM kmen.client_pseudonym p JOIN kmen.client c ON c.id = p.client
     WHERE p.pseudonym_index = p_pseudonym;
    IF FOUND THEN
        systems := kmen.client_systems(v_client);
        INSERT INTO kmen.audit (event, outcome, client_id, request_id)
        VALUES ('resolve', 'returning', client_id, p_request_id);
    END IF;
END
$$;

-- A new foreign client holding the pseudonym; a concurrent twin that got
-- there first is returned instead (status returning).
CREATE FUNCTION kmen.foreigner_create(p_pseudonym bytea, p_given text, p_family text,
                                      p_birth date, OUT client_id uuid, OUT status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    INSERT INTO kmen.client (source, family_name, given_name, birth_date)
    VALUES ('eidas', p_family, p_given, p_birth) RETURNING id INTO v_client;
    INSERT INTO kmen.client_pseudonym (pseudonym_index, client) VALUES (p_pseudonym, v_client)
    ON CONFLICT (pseudonym_index) DO NOTHING;
    IF FOUND THEN
        status := 'new';
    ELSE
        DELETE FROM kmen.client WHERE id = v_client;
        SELECT p.client INTO v_client FROM kmen.client_pseudonym p
         WHERE p.pseudonym_index = p_pseudonym;
        status := 'returning';
    END IF;
    SELECT c.client_id INTO client_id FROM kmen.client c WHERE c.id = v_client;
END
$$;

-- A foreigner's first login with KmenEidasPolicy accept: the minimal data set
-- suffices.
CREATE FUNCTION kmen.resolve_foreigner_accept(p_pseudonym bytea, p_given text, p_family text,
                                              p_birth date, p_request_id text,
                                              OUT client_id uuid, OUT status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
BEGIN
    SELECT f.client_id, f.status INTO client_id, status
      FROM kmen.foreigner_create(p_pseudonym, p_given, p_family, p_birth) f;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('resolve', status, 'eidas accept', client_id, p_request_id);
END
$$;

-- A foreigner's first login with KmenEidasPolicy verify: kept pending until the
-- backend decides.
CREATE FUNCTION kmen.pending_create(p_pseudonym bytea, p_given text, p_family text,
                                    p_birth date, p_ttl integer, p_request_id text)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_id uuid;
BEGIN
    INSERT INTO kmen.pending (pseudonym_index, given_name, family_name, birth_date, expires)
    VALUES (p_pseudonym, p_given, p_family, p_birth, now() + make_interval(secs => p_ttl))
    RETURNING id INTO v_id;
    INSERT INTO kmen.audit (event, outcome, detail, request_id)
    VALUES ('resolve', 'pending', 'eidas verify', p_request_id);
    RETURN v_id;
END
$$;

-- Kmen-Complete at KmenVerifyPath. p_link NULL: a new client (Kmen-Complete:
-- new); else the existing client p_link (Kmen-Complete: link=...), refused
-- when unknown or already holding a pseudonym. outcome: new, linked,
-- returning, expired, unknown_client, already_linked. One transaction.
CREATE FUNCTION kmen.pending_complete(p_pending uuid, p_link uuid, p_request_id text,
                                      OUT outcome text, OUT client_id uuid, OUT systems text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_pending kmen.pending%ROWTYPE;
    v_client bigint;
BEGIN
    SELECT * INTO v_pending FROM kmen.pending p
     WHERE p.id = p_pending AND p.expires > now() FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'expired';
    ELSIF p_link IS NULL THEN
        SELECT f.client_id, f.status INTO client_id, outcome
          FROM kmen.foreigner_create(v_pending.pseudonym_index, v_pending.given_name,
                                     v_pending.family_name, v_pending.birth_date) f;
    ELSE
        SELECT c.id INTO v_client FROM kmen.client c WHERE c.client_id = p_link;
        IF NOT FOUND THEN
            outcome := 'unknown_client';
        ELSIF EXISTS (SELECT 1 FROM kmen.client_pseudonym cp WHERE cp.client = v_client) THEN
            outcome := 'already_linked';
        ELSE
            INSERT INTO kmen.client_pseudonym (pseudonym_index, client)
            VALUES (v_pending.pseudonym_index, v_client);
            outcome := 'linked';
            client_id := p_link;
        END IF;
    END IF;
    IF client_id IS NOT NULL THEN
        -- completed: the pending verification is used up
        DELETE FROM kmen.pending p WHERE p.id = p_pending;
        SELECT kmen.client_systems(c.id) INTO systems FROM kmen.client c
         WHERE c.client_id = pending_complete.client_id;
    END IF;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('complete', outcome, CASE WHEN p_link IS NULL THEN 'new' ELSE 'link' END,
            client_id, p_request_id);
END
$$;

CREATE FUNCTION kmen.session_update(p_id_hash bytea, p_payload bytea)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    UPDATE kmen.session SET payload = p_payload WHERE id_hash = p_id_hash;
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA kmen FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kmen TO kmen_module;
-- foreigner_create is a building block of the functions above, not an entry point.
REVOKE EXECUTE ON FUNCTION kmen.foreigner_create(bytea, text, text, date) FROM kmen_module;

RESET ROLE;
