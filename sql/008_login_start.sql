-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 008: anonymous login starts keep kmen.authn_request bounded.
--
-- Every anonymous GET of a protected location writes one row here. Until now
-- only `kmenctl purge` deleted them, so a single client could grow the table
-- and its WAL by gigabytes an hour. Now every new request clears a batch of
-- expired ones, and ReturnTo is capped at 1024 bytes (the module refuses or
-- replaces longer ones: docs/operations.md, "Login requests and ReturnTo").

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (8);

-- NOT VALID: rows written before this migration expire within minutes anyway.
ALTER TABLE kmen.authn_request
    ADD CONSTRAINT authn_request_return_to_length CHECK (octet_length(return_to) <= 1024)
    NOT VALID;

-- Up to 16 expired rows go with each new one: more than the one written, so
-- expired rows never pile up, yet each call stays a short index range scan
-- (authn_request_expires). Rows a concurrent call is deleting are skipped,
-- not waited for.
CREATE OR REPLACE FUNCTION kmen.request_issue(p_id text, p_return_to text, p_min_loa integer,
                                              p_ttl integer, p_eidas_accept boolean)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    DELETE FROM kmen.authn_request r
     WHERE r.id = ANY (ARRAY(SELECT e.id FROM kmen.authn_request e
                              WHERE e.expires <= now()
                              ORDER BY e.expires LIMIT 16
                              FOR UPDATE SKIP LOCKED));
    INSERT INTO kmen.authn_request (id, return_to, min_loa, expires, eidas_accept)
    VALUES (p_id, p_return_to, p_min_loa, now() + make_interval(secs => p_ttl),
            p_eidas_accept);
$$;

RESET ROLE;
