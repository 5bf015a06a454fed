-- Busy-time look-ups ask for a provider's appointments with occupied_until > from AND
-- occupied_from < until. The old index on (provider_id, occupied_from) could only bound the
-- upper end, so every look-up walked the provider's whole history. Leading with
-- occupied_until bounds the walk to appointments still running at `from` or later (the
-- booking horizon), and carrying occupied_from checks the other end inside the index.
-- It also serves every other provider_id look-up the old index served.
DROP INDEX appointments_provider_time_idx;
CREATE INDEX appointments_provider_until_idx ON appointments (provider_id, occupied_until, occupied_from);

-- Hold expiry runs at the start of every booking's write transaction. Holds are few and
-- short-lived, so a partial index over them keeps both the provider-scoped and the global
-- expiry off the appointments table.
CREATE INDEX appointments_held_idx ON appointments (provider_id, held_until) WHERE status = 'held';
