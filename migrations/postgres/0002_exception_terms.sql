-- Exceptions with a lifecycle: scope (one patch), who granted it and when, renewals,
-- and when the fleet enforced its expiry, as one JSON object (older rows: '{}').
ALTER TABLE exceptions ADD COLUMN terms TEXT NOT NULL DEFAULT '{}';
