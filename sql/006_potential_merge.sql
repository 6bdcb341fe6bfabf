-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 006: potential clients from unofficial contacts, and
-- merging clients into one survivor whose old identifiers keep resolving.
--
-- Contact data (e-mail, phone, name as given) are protected at rest like the
-- other identifiers: a blind index for lookups, AES-256-GCM ciphertext.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (6);

ALTER TABLE kmen.client DROP CONSTRAINT client_source_check;
ALTER TABLE kmen.client ADD CONSTRAINT client_source_check
    CHECK (source IN ('nia', 'eidas', 'essl', 'contact'));
-- Known only from an unofficial contact: no proof of identity yet.
ALTER TABLE kmen.client ADD COLUMN potential boolean NOT NULL DEFAULT false;

CREATE TABLE kmen.client_contact (
    client bigint NOT NULL REFERENCES kmen.client (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('email', 'phone', 'name')),
    value_index bytea NOT NULL CHECK (length(value_index) = 32),
    value_sealed bytea NOT NULL,
    PRIMARY KEY (client, kind)
);
CREATE INDEX client_contact_lookup ON kmen.client_contact (kind, value_index);

-- A merged client's identifier: still resolves, to the survivor.
CREATE TABLE kmen.client_alias (
    alias uuid PRIMARY KEY,
    client bigint NOT NULL REFERENCES kmen.client (id) ON DELETE CASCADE,
    merged timestamptz NOT NULL DEFAULT now(),
    announced boolean NOT NULL DEFAULT false
);
CREATE INDEX client_alias_client ON kmen.client_alias (client);

-- A client identifier or the alias of a merged one -> the client.
CREATE FUNCTION kmen.client_of(p_client_id uuid)
RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    SELECT id FROM kmen.client WHERE client_id = p_client_id
    UNION ALL
    SELECT client FROM kmen.client_alias WHERE alias = p_client_id
    LIMIT 1;
$$;

-- Kmen-Client-Id-Merged-From: the identifiers merged into this client that
-- no login has announced yet; announcing them is once only.
CREATE FUNCTION kmen.announce_merges(p_client bigint)
RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    WITH told AS (
        UPDATE kmen.client_alias SET announced = true
         WHERE client = p_client AND NOT announced
        RETURNING alias, merged)
    SELECT string_agg(alias::text, ',' ORDER BY merged) FROM told;
$$;

-- One survivor: every link of p_from moves to p_into, p_from's identifier
-- becomes an alias. Refused when both hold an AIFO in the same agenda.
-- outcome: merged, unknown, same, conflict.
CREATE FUNCTION kmen.merge_clients(p_into uuid, p_from uuid, p_detail text, p_request_id text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_into bigint := kmen.client_of(p_into);
    v_from bigint := kmen.client_of(p_from);
    v_from_row kmen.client%ROWTYPE;
BEGIN
    IF v_into IS NULL OR v_from IS NULL THEN
        RETURN 'unknown';
    ELSIF v_into = v_from THEN
        RETURN 'same';
    ELSIF EXISTS (SELECT 1 FROM kmen.client_aifo a JOIN kmen.client_aifo b USING (agenda)
                   WHERE a.client = v_into AND b.client = v_from) THEN
        INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
        VALUES ('merge', 'conflict', p_detail, p_into, p_request_id);
        RETURN 'conflict';
    END IF;
    SELECT * INTO v_from_row FROM kmen.client WHERE id = v_from FOR UPDATE;
    UPDATE kmen.client_aifo SET client = v_into WHERE client = v_from;
    UPDATE kmen.client_bsi SET client = v_into WHERE client = v_from;
    UPDATE kmen.client_pseudonym SET client = v_into WHERE client = v_from;
    UPDATE kmen.evidence SET client = v_into WHERE client = v_from;
    INSERT INTO kmen.client_system (client, system, linked)
    SELECT v_into, system, linked FROM kmen.client_system WHERE client = v_from
    ON CONFLICT DO NOTHING;
    INSERT INTO kmen.client_contact (client, kind, value_index, value_sealed)
    SELECT v_into, kind, value_index, value_sealed FROM kmen.client_contact
     WHERE client = v_from
    ON CONFLICT DO NOTHING;
    UPDATE kmen.client c SET
        family_name = coalesce(c.family_name, v_from_row.family_name),
        given_name = coalesce(c.given_name, v_from_row.given_name),
        birth_date = coalesce(c.birth_date, v_from_row.birth_date),
        deceased = coalesce(c.deceased, v_from_row.deceased),
        -- verified as soon as either of the two was
        potential = c.potential AND v_from_row.potential
     WHERE c.id = v_into;
    UPDATE kmen.client_alias SET client = v_into WHERE client = v_from;
    INSERT INTO kmen.client_alias (alias, client) VALUES (v_from_row.client_id, v_into);
    DELETE FROM kmen.client WHERE id = v_from;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('merge', 'merged', coalesce(p_detail || ': ', '') || v_from_row.client_id::text,
            (SELECT client_id FROM kmen.client WHERE id = v_into), p_request_id);
    RETURN 'merged';
END
$$;

-- Kmen-Potential-Contact or kmenctl add-potential: a potential client, or the
-- one already known by that e-mail or phone. outcome: new, existing.
CREATE FUNCTION kmen.potential_create(p_email bytea, p_email_sealed bytea,
                                      p_phone bytea, p_phone_sealed bytea,
                                      p_name bytea, p_name_sealed bytea, p_request_id text,
                                      OUT client_id uuid, OUT outcome text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    SELECT cc.client INTO v_client FROM kmen.client_contact cc
     WHERE (cc.kind = 'email' AND cc.value_index = p_email)
        OR (cc.kind = 'phone' AND cc.value_index = p_phone)
     LIMIT 1;
    IF FOUND THEN
        outcome := 'existing';
    ELSE
        INSERT INTO kmen.client (source, potential) VALUES ('contact', true)
        RETURNING id INTO v_client;
        outcome := 'new';
    END IF;
    INSERT INTO kmen.client_contact (client, kind, value_index, value_sealed)
    SELECT v_client, k, i, s
      FROM (VALUES ('email', p_email, p_email_sealed), ('phone', p_phone, p_phone_sealed),
                   ('name', p_name, p_name_sealed)) AS v (k, i, s)
     WHERE i IS NOT NULL
    ON CONFLICT DO NOTHING;
    SELECT c.client_id INTO client_id FROM kmen.client c WHERE c.id = v_client;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('potential', outcome, NULL, client_id, p_request_id);
END
$$;

-- Kmen-Complete: link=<potential client> for a verified login: the login's
-- client merges into the potential one, which keeps its identifier and is
-- verified from now on. outcome: linked, unknown_client, not_potential,
-- conflict.
CREATE FUNCTION kmen.link_potential(p_current uuid, p_potential uuid, p_request_id text,
                                    OUT outcome text, OUT client_id uuid, OUT systems text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_target bigint := kmen.client_of(p_potential);
BEGIN
    IF v_target IS NULL THEN
        outcome := 'unknown_client';
    ELSIF NOT (SELECT potential FROM kmen.client WHERE id = v_target) THEN
        outcome := 'not_potential';
    ELSE
        outcome := kmen.merge_clients(
            (SELECT c.client_id FROM kmen.client c WHERE c.id = v_target), p_current,
            'verified potential', p_request_id);
        outcome := CASE outcome WHEN 'merged' THEN 'linked' ELSE outcome END;
    END IF;
    IF outcome = 'linked' THEN
        SELECT c.client_id, kmen.client_systems(c.id) INTO client_id, systems
          FROM kmen.client c WHERE c.id = v_target;
    END IF;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('complete', outcome, 'link potential', coalesce(client_id, p_current), p_request_id);
END
$$;

-- Resolutions now also announce merges (one round trip, as before).
DROP FUNCTION kmen.resolve_bsi(bytea, text);
CREATE FUNCTION kmen.resolve_bsi(p_bsi bytea, p_request_id text,
                                 OUT client_id uuid, OUT systems text, OUT merged_from text, OUT has_evidence boolean)
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
        INSERT INTO kmen.audit (event, outcome, client_id, request_id)
        VALUES ('resolve', 'returning', client_id, p_request_id);
    END IF;
END
$$;

DROP FUNCTION kmen.resolve_first(bytea, text, bytea, bytea, text, text, date, text);
CREATE FUNCTION kmen.resolve_first(p_bsi bytea, p_agenda text, p_aifo bytea,
                                   p_aifo_sealed bytea, p_given text, p_family text,
                                   p_birth date, p_request_id text,
                                   OUT client_id uuid, OUT status text, OUT systems text,
                                   OUT merged_from text, OUT has_evidence boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    LOOP
        SELECT a.client INTO v_client FROM kmen.client_aifo a
         WHERE a.agenda = p_agenda AND a.aifo_index = p_aifo;
        IF FOUND THEN
            INSERT INTO kmen.client_bsi (bsi_index, client) VALUES (p_bsi, v_client)
            ON CONFLICT (bsi_index) DO NOTHING;
            status := CASE WHEN FOUND THEN 'linked' ELSE 'returning' END;
            -- A BSI already linked elsewhere wins: it is what NIA says.
            SELECT b.client INTO v_client FROM kmen.client_bsi b WHERE b.bsi_index = p_bsi;
            EXIT;
        END IF;
        INSERT INTO kmen.client (source, family_name, given_name, birth_date)
        VALUES ('nia', p_family, p_given, p_birth) RETURNING id INTO v_client;
        BEGIN
            INSERT INTO kmen.client_aifo (agenda, aifo_index, aifo_sealed, client)
            VALUES (p_agenda, p_aifo, p_aifo_sealed, v_client);
        EXCEPTION WHEN unique_violation THEN
            DELETE FROM kmen.client WHERE id = v_client;
            CONTINUE;
        END;
        INSERT INTO kmen.client_bsi (bsi_index, client) VALUES (p_bsi, v_client)
        ON CONFLICT (bsi_index) DO NOTHING;
        status := 'new';
        EXIT;
    END LOOP;
    SELECT c.client_id INTO client_id FROM kmen.client c WHERE c.id = v_client;
    systems := kmen.client_systems(v_client);
    merged_from := kmen.announce_merges(v_client);
        has_evidence := EXISTS (SELECT 1 FROM kmen.evidence e WHERE e.client = v_client);
    INSERT INTO kmen.audit (event, outcome, client_id, request_id)
    VALUES ('resolve', status, client_id, p_request_id);
END
$$;

DROP FUNCTION kmen.resolve_pseudonym(bytea, text);
CREATE FUNCTION kmen.resolve_pseudonym(p_pseudonym bytea, p_request_id text,
                                       OUT client_id uuid, OUT systems text,
                                       OUT merged_from text, OUT has_evidence boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    SELECT c.id, c.client_id INTO v_client, client_id
      FROM kmen.client_pseudonym p JOIN kmen.client c ON c.id = p.client
     WHERE p.pseudonym_index = p_pseudonym;
    IF FOUND THEN
        systems := kmen.client_systems(v_client);
        merged_from := kmen.announce_merges(v_client);
        has_evidence := EXISTS (SELECT 1 FROM kmen.evidence e WHERE e.client = v_client);
        INSERT INTO kmen.audit (event, outcome, client_id, request_id)
        VALUES ('resolve', 'returning', client_id, p_request_id);
    END IF;
END
$$;

-- A backend may present a merged (old) identifier: it means the survivor.
CREATE OR REPLACE FUNCTION kmen.link_system(p_client_id uuid, p_system text, p_request_id text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint := kmen.client_of(p_client_id);
BEGIN
    IF v_client IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO kmen.client_system (client, system) VALUES (v_client, p_system)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
        VALUES ('link_system', 'ok', p_system, p_client_id, p_request_id);
    END IF;
    RETURN true;
END
$$;

-- Linking a pending foreigner to an existing client also verifies a
-- potential one; merged identifiers resolve to their survivor.
CREATE OR REPLACE FUNCTION kmen.pending_complete(p_pending uuid, p_link uuid, p_request_id text,
                                                 OUT outcome text, OUT client_id uuid,
                                                 OUT systems text)
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
        v_client := kmen.client_of(p_link);
        IF v_client IS NULL THEN
            outcome := 'unknown_client';
        ELSIF EXISTS (SELECT 1 FROM kmen.client_pseudonym cp WHERE cp.client = v_client) THEN
            outcome := 'already_linked';
        ELSE
            INSERT INTO kmen.client_pseudonym (pseudonym_index, client)
            VALUES (v_pending.pseudonym_index, v_client);
            UPDATE kmen.client SET potential = false WHERE id = v_client;
            outcome := 'linked';
            SELECT c.client_id INTO client_id FROM kmen.client c WHERE c.id = v_client;
        END IF;
    END IF;
    IF client_id IS NOT NULL THEN
        DELETE FROM kmen.pending p WHERE p.id = p_pending;
        SELECT kmen.client_systems(c.id) INTO systems FROM kmen.client c
         WHERE c.client_id = pending_complete.client_id;
    END IF;
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES ('complete', outcome, CASE WHEN p_link IS NULL THEN 'new' ELSE 'link' END,
            client_id, p_request_id);
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA kmen FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kmen TO kmen_module;
REVOKE EXECUTE ON FUNCTION kmen.foreigner_create(bytea, text, text, date) FROM kmen_module;
REVOKE EXECUTE ON FUNCTION kmen.merge_clients(uuid, uuid, text, text) FROM kmen_module;

RESET ROLE;
