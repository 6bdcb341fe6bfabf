-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 007: what the status page (SetHandler kmen-status) shows
-- of the audit log: outcomes by event over the last hours, every node together.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (7);

CREATE FUNCTION kmen.audit_summary(p_hours integer)
RETURNS TABLE (event text, outcome text, count bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
    SELECT a.event, a.outcome, count(*) FROM kmen.audit a
     WHERE a.at > now() - make_interval(hours => p_hours)
     GROUP BY a.event, a.outcome
     ORDER BY a.event, a.outcome;
$$;

REVOKE ALL ON FUNCTION kmen.audit_summary(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kmen.audit_summary(integer) TO kmen_module;

RESET ROLE;
