-- patchdeck gateway store, schema 1 (PostgreSQL). Times are milliseconds since the Unix
-- epoch, UTC; records of model types are JSON text.

CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO store_meta (name, value) VALUES ('events_compacted_through', 0);

-- (a) Every attempt at an action, accepted or refused. Append-only.
CREATE TABLE audit (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms           BIGINT NOT NULL,
    identity        TEXT NOT NULL,
    verb            TEXT NOT NULL,
    target_kind     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    reason          TEXT,
    ticket          TEXT,
    idempotency_key TEXT,
    status          BIGINT NOT NULL,
    problem_type    TEXT,
    action_id       TEXT,
    gateway         TEXT
);

-- (b) Actions with their latest outcome (model Action as JSON), newest version wins.
CREATE TABLE actions (
    id      TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    at_ms   BIGINT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX actions_by_time ON actions (at_ms, id);

-- (c) First halves of two-person requests, until a second approver or the expiry.
CREATE TABLE pending_requests (
    id              TEXT PRIMARY KEY,
    first_approver  TEXT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    expires_at_ms   BIGINT NOT NULL,
    body            TEXT NOT NULL
);

-- (d) Idempotency keys per identity: claimed (status NULL) then answered.
CREATE TABLE idempotency (
    identity       TEXT NOT NULL,
    key            TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    claimed_by     TEXT NOT NULL,
    claimed_at_ms  BIGINT NOT NULL,
    status         BIGINT,
    content_type   TEXT,
    etag           TEXT,
    body           BYTEA,
    answered_at_ms BIGINT,
    PRIMARY KEY (identity, key)
);
CREATE INDEX idempotency_by_claim_time ON idempotency (claimed_at_ms);

-- (e) Documented exceptions: hosts that must not be patched.
CREATE TABLE exceptions (
    host_id              TEXT PRIMARY KEY,
    owner                TEXT NOT NULL,
    reason               TEXT NOT NULL,
    ticket               TEXT,
    expires_at_ms        BIGINT NOT NULL,
    compensating_control TEXT NOT NULL
);

-- (f) The rollout's own state of each ring (JSON), compare-and-set on version.
CREATE TABLE ring_rollouts (
    ring_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    body    TEXT NOT NULL
);

-- (g) The event log with the fleet's sequence numbers (model Event as JSON).
CREATE TABLE events (
    seq   BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    kind  TEXT NOT NULL,
    body  TEXT NOT NULL
);

-- (h) Leases: one holder at a time ("one gateway advances the rollout").
CREATE TABLE leases (
    name          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    term          BIGINT NOT NULL
);

-- (i) Accepted actions with the fleet clock, to rebuild a simulator. Append-only.
CREATE TABLE journal (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fleet_time_ms   BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    request         TEXT NOT NULL,
    action_id       TEXT,
    idempotency_key TEXT
);

CREATE FUNCTION patchdeck_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the % is append-only', TG_ARGV[0];
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION patchdeck_append_only('audit trail');
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION patchdeck_append_only('replay journal');
