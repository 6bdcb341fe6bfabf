-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 010: the browser's login state is a secret of its own.
--
-- Until now the login-state cookie held the AuthnRequest's ID, which also
-- travels in the URL to NIA (browser history, NIA's logs) and comes back as
-- InResponseTo. Now the cookie holds 256 random bits whose SHA-256 the
-- request's row keeps; the ACS finds the outstanding request by it before it
-- spends anything on the Response's cryptography.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (10);

ALTER TABLE kmen.authn_request ADD COLUMN state_hash bytea;
CREATE UNIQUE INDEX authn_request_state ON kmen.authn_request (state_hash);

DROP FUNCTION kmen.request_issue(text, text, integer, integer, boolean);

-- As in migration 008, with the state's hash.
CREATE FUNCTION kmen.request_issue(p_id text, p_state_hash bytea, p_return_to text,
                                   p_min_loa integer, p_ttl integer, p_eidas_accept boolean)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    DELETE FROM kmen.authn_request r
     WHERE r.id = ANY (ARRAY(SELECT e.id FROM kmen.authn_request e
                              WHERE e.expires <= now()
                              ORDER BY e.expires LIMIT 16
                              FOR UPDATE SKIP LOCKED));
    INSERT INTO kmen.authn_request (id, state_hash, return_to, min_loa, expires, eidas_accept)
    VALUES (p_id, p_state_hash, p_return_to, p_min_loa, now() + make_interval(secs => p_ttl),
            p_eidas_accept);
$$;

-- The ID of the outstanding request a browser's login state belongs to; none
-- once it is consumed or expired.
CREATE FUNCTION kmen.request_by_state(p_state_hash bytea)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    SELECT r.id FROM kmen.authn_request r
     WHERE r.state_hash = p_state_hash AND r.expires > now();
$$;

REVOKE ALL ON FUNCTION kmen.request_issue(text, bytea, text, integer, integer, boolean),
                       kmen.request_by_state(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kmen.request_issue(text, bytea, text, integer, integer, boolean),
                          kmen.request_by_state(bytea) TO kmen_module;

RESET ROLE;
