-- SPDX-License-Identifier: GPL-2.0-or-later
-- mod_kmen migration 009: an IdP-initiated LogoutRequest is carried out once.
-- Its ID goes into the replay cache beside the assertion IDs, as "logout:<ID>",
-- until it could no longer be accepted; kmenctl purge removes it after that.

SET ROLE kmen_owner;
INSERT INTO kmen.schema_migration (version) VALUES (9);

-- true the first time P_ID is seen, false for a copy.
CREATE FUNCTION kmen.message_first_seen(p_id text, p_expires timestamptz)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = kmen, pg_temp AS $$
BEGIN
    INSERT INTO kmen.replay (assertion_id, expires) VALUES (p_id, p_expires)
    ON CONFLICT DO NOTHING;
    RETURN FOUND;
END
$$;

REVOKE ALL ON FUNCTION kmen.message_first_seen(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kmen.message_first_seen(text, timestamptz) TO kmen_module;

RESET ROLE;
