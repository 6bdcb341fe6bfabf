-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 001: roles, login state shared by every httpd node.
--
-- Run as a superuser (or through `kmenctl migrate`). The module connects as
-- kmen_module, which may only EXECUTE the functions below and append audit
-- rows: the tables belong to kmen_owner and every function is SECURITY
-- DEFINER with a fixed search_path.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kmen_owner') THEN
        CREATE ROLE kmen_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kmen_module') THEN
        CREATE ROLE kmen_module LOGIN;
    END IF;
END
$$;

CREATE SCHEMA kmen AUTHORIZATION kmen_owner;
REVOKE ALL ON SCHEMA kmen FROM PUBLIC;
GRANT USAGE ON SCHEMA kmen TO kmen_module;

SET ROLE kmen_owner;

CREATE TABLE kmen.schema_migration (
    version integer PRIMARY KEY,
    applied timestamptz NOT NULL DEFAULT now()
);
INSERT INTO kmen.schema_migration (version) VALUES (1);

-- AuthnRequests this SP issued and not yet consumed: InResponseTo must name one.
CREATE TABLE kmen.authn_request (
    id text PRIMARY KEY,
    return_to text NOT NULL,
    min_loa smallint NOT NULL CHECK (min_loa BETWEEN 1 AND 3),
    expires timestamptz NOT NULL
);

-- Assertion IDs seen, kept until the assertion could no longer be accepted.
CREATE TABLE kmen.replay (
    assertion_id text PRIMARY KEY,
    expires timestamptz NOT NULL
);

-- Sessions: the key is SHA-256 of the cookie value, so a dump yields no usable
-- cookie; the payload is AES-256-GCM ciphertext made by the module; subject is
-- the keyed blind index of the NameID, used only by IdP-initiated logout.
CREATE TABLE kmen.session (
    id_hash bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    subject bytea NOT NULL,
    session_index text,
    payload bytea NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    expires timestamptz NOT NULL
);
CREATE INDEX session_subject ON kmen.session (subject);

CREATE TABLE kmen.audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    event text NOT NULL,
    outcome text NOT NULL,
    detail text,
    request_id text
);

CREATE FUNCTION kmen.request_issue(p_id text, p_return_to text, p_min_loa integer,
                                   p_ttl integer)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    INSERT INTO kmen.authn_request (id, return_to, min_loa, expires)
    VALUES (p_id, p_return_to, p_min_loa, now() + make_interval(secs => p_ttl));
$$;

-- Consumes the request an assertion answers and remembers the assertion ID,
-- in one transaction. outcome: ok, replay or unknown_request.
CREATE FUNCTION kmen.login_consume(p_request_id text, p_assertion_id text,
                                   p_assertion_expires timestamptz,
                                   OUT outcome text, OUT return_to text,
                                   OUT min_loa integer)
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
    RETURNING r.return_to, r.min_loa INTO return_to, min_loa;
    outcome := CASE WHEN FOUND THEN 'ok' ELSE 'unknown_request' END;
END
$$;

CREATE FUNCTION kmen.session_create(p_id_hash bytea, p_subject bytea, p_session_index text,
                                    p_payload bytea, p_lifetime integer)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    INSERT INTO kmen.session (id_hash, subject, session_index, payload, expires)
    VALUES (p_id_hash, p_subject, p_session_index, p_payload,
            now() + make_interval(secs => p_lifetime));
$$;

-- A live session's payload and its remaining lifetime in seconds; touching
-- last_seen is what keeps an active session from idling out.
CREATE FUNCTION kmen.session_fetch(p_id_hash bytea, p_idle integer,
                                   OUT payload bytea, OUT remaining integer)
LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    UPDATE kmen.session s SET last_seen = now()
     WHERE s.id_hash = p_id_hash AND s.expires > now()
       AND s.last_seen > now() - make_interval(secs => p_idle)
    RETURNING s.payload, ceil(extract(epoch FROM s.expires - now()))::integer;
$$;

CREATE FUNCTION kmen.session_delete(p_id_hash bytea)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    DELETE FROM kmen.session WHERE id_hash = p_id_hash;
$$;

-- IdP-initiated logout: every session of that subject (and SessionIndex, when
-- the IdP names one); returns their keys so the caller can drop cached copies.
CREATE FUNCTION kmen.session_delete_subject(p_subject bytea, p_session_index text)
RETURNS SETOF bytea LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    DELETE FROM kmen.session
     WHERE subject = p_subject
       AND (p_session_index IS NULL OR session_index = p_session_index)
    RETURNING id_hash;
$$;

CREATE FUNCTION kmen.audit_append(p_event text, p_outcome text, p_detail text,
                                  p_request_id text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    INSERT INTO kmen.audit (event, outcome, detail, request_id)
    VALUES (p_event, p_outcome, p_detail, p_request_id);
$$;

CREATE FUNCTION kmen.ping()
RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    SELECT 1;
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA kmen FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kmen TO kmen_module;
GRANT INSERT ON kmen.audit TO kmen_module;
GRANT USAGE ON SEQUENCE kmen.audit_id_seq TO kmen_module;

RESET ROLE;
