-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 002: the client register (klientský kmen) behind Czech
-- citizens' NIA logins: first logins and returning ones.
--
-- Secret identifiers never enter the database in the clear: *_index columns
-- hold HMAC-SHA256 blind indexes and *_sealed columns AES-256-GCM ciphertext,
-- both computed by the module or kmenctl from KmenRegisterKeyFile
-- (core/identifiers.c). One client per (agenda, AIFO), per BSI and per
-- eIDAS pseudonym is enforced by the primary keys below.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (2);

CREATE TABLE kmen.client (
    id bigserial PRIMARY KEY,
    -- the public client identifier: random, never derived from AIFO or BSI
    client_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    -- how the client entered the register
    source text NOT NULL CHECK (source IN ('nia', 'eidas', 'essl')),
    family_name text,
    given_name text,
    birth_date date,
    deceased date,
    created timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kmen.client_aifo (
    agenda text NOT NULL CHECK (agenda ~ '^A[0-9]{1,6}$'),
    aifo_index bytea NOT NULL CHECK (length(aifo_index) = 32),
    aifo_sealed bytea NOT NULL,
    client bigint NOT NULL REFERENCES kmen.client (id) ON DELETE CASCADE,
    PRIMARY KEY (agenda, aifo_index)
);
CREATE INDEX client_aifo_client ON kmen.client_aifo (client);

CREATE TABLE kmen.client_bsi (
    bsi_index bytea PRIMARY KEY CHECK (length(bsi_index) = 32),
    client bigint NOT NULL REFERENCES kmen.client (id) ON DELETE CASCADE,
    linked timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX client_bsi_client ON kmen.client_bsi (client);

CREATE TABLE kmen.client_pseudonym (
    pseudonym_index bytea PRIMARY KEY CHECK (length(pseudonym_index) = 32),
    client bigint NOT NULL REFERENCES kmen.client (id) ON DELETE CASCADE,
    linked timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX client_pseudonym_client ON kmen.client_pseudonym (client);

-- The systems that hold data about a client: the portal asks only those,
-- instead of every system translating the BSI to its own AIFO at every login.
CREATE TABLE kmen.client_system (
    client bigint NOT NULL REFERENCES kmen.client (id) ON DELETE CASCADE,
    system text NOT NULL CHECK (system ~ '^[A-Za-z0-9._:-]{1,64}$'),
    linked timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client, system)
);

ALTER TABLE kmen.audit ADD COLUMN client_id uuid;

CREATE FUNCTION kmen.client_systems(p_client bigint)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    SELECT string_agg(system, ',' ORDER BY system) FROM kmen.client_system
     WHERE client = p_client;
$$;

-- A returning NIA login, found by its BSI. One round trip, no
-- translation. client_id is NULL when the BSI is not linked yet.
CREATE FUNCTION kmen.resolve_bsi(p_bsi bytea, p_request_id text,
                                 OUT client_id uuid, OUT systems text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    SELECT c.id, c.client_id INTO v_client, client_id
      FROM kmen.client_bsi b JOIN kmen.client c ON c.id = b.client
     WHERE b.bsi_index = p_bsi;
    IF FOUND THEN
        systems := kmen.client_systems(v_client);
        INSERT INTO kmen.audit (event, outcome, client_id, request_id)
        VALUES ('resolve', 'returning', client_id, p_request_id);
    END IF;
END
$$;

-- The first NIA login of a BSI (a person unknown, or known from eSSL), after
-- the gateway gave its AIFO in the register's agenda. Known AIFO -> the BSI
-- is linked (status linked); unknown -> a new client (status new). Safe under
-- concurrency: a first login that loses the race for the AIFO links to the
-- winner instead.
CREATE FUNCTION kmen.resolve_first(p_bsi bytea, p_agenda text, p_aifo bytea,
                                   p_aifo_sealed bytea, p_given text, p_family text,
                                   p_birth date, p_request_id text,
                                   OUT client_id uuid, OUT status text, OUT systems text)
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
    INSERT INTO kmen.audit (event, outcome, client_id, request_id)
    VALUES ('resolve', status, client_id, p_request_id);
END
$$;

-- Backend response header Kmen-Link-System: this system now holds data
-- about the client.
CREATE FUNCTION kmen.link_system(p_client_id uuid, p_system text, p_request_id text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
DECLARE
    v_client bigint;
BEGIN
    SELECT id INTO v_client FROM kmen.client WHERE client_id = p_client_id;
    IF NOT FOUND THEN
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

-- KmenAgenda locations: the client's AIFO in an agenda, sealed, if known.
CREATE FUNCTION kmen.agenda_aifo(p_client_id uuid, p_agenda text)
RETURNS bytea LANGUAGE sql STABLE SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    SELECT a.aifo_sealed FROM kmen.client_aifo a JOIN kmen.client c ON c.id = a.client
     WHERE c.client_id = p_client_id AND a.agenda = p_agenda;
$$;

CREATE FUNCTION kmen.agenda_aifo_store(p_client_id uuid, p_agenda text, p_aifo bytea,
                                       p_aifo_sealed bytea)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    INSERT INTO kmen.client_aifo (agenda, aifo_index, aifo_sealed, client)
    SELECT p_agenda, p_aifo, p_aifo_sealed, c.id FROM kmen.client c
     WHERE c.client_id = p_client_id
    ON CONFLICT DO NOTHING;
$$;

-- The audit log is append-only for the module: no UPDATE, no DELETE.
CREATE FUNCTION kmen.audit_append_client(p_event text, p_outcome text, p_detail text,
                                         p_client_id uuid, p_request_id text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    INSERT INTO kmen.audit (event, outcome, detail, client_id, request_id)
    VALUES (p_event, p_outcome, p_detail, p_client_id, p_request_id);
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA kmen FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kmen TO kmen_module;

RESET ROLE;
