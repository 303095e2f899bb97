-- patchdeck gateway store, schema 1 (SQLite). Times are milliseconds since the Unix
-- epoch, UTC; records of model types are JSON text.

CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO store_meta (name, value) VALUES ('events_compacted_through', 0);

-- (a) Every attempt at an action, accepted or refused. Append-only.
CREATE TABLE audit (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms           INTEGER NOT NULL,
    identity        TEXT NOT NULL,
    verb            TEXT NOT NULL,
    target_kind     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    reason          TEXT,
    ticket          TEXT,
    idempotency_key TEXT,
    status          INTEGER NOT NULL,
    problem_type    TEXT,
    action_id       TEXT,
    gateway         TEXT
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

-- (b) Actions with their latest outcome (model Action as JSON), newest version wins.
CREATE TABLE actions (
    id      TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    at_ms   INTEGER NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX actions_by_time ON actions (at_ms, id);

-- (c) First halves of two-person requests, until a second approver or the expiry.
CREATE TABLE pending_requests (
    id              TEXT PRIMARY KEY,
    first_approver  TEXT NOT NULL,
    requested_at_ms INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    body            TEXT NOT NULL
);

-- (d) Idempotency keys per identity: claimed (status NULL) then answered.
CREATE TABLE idempotency (
    identity       TEXT NOT NULL,
    key            TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    claimed_by     TEXT NOT NULL,
    claimed_at_ms  INTEGER NOT NULL,
    status         INTEGER,
    content_type   TEXT,
    etag           TEXT,
    body           BLOB,
    answered_at_ms INTEGER,
    PRIMARY KEY (identity, key)
);
CREATE INDEX idempotency_by_claim_time ON idempotency (claimed_at_ms);

-- (e) Documented exceptions: hosts that must not be patched.
CREATE TABLE exceptions (
    host_id              TEXT PRIMARY KEY,
    owner                TEXT NOT NULL,
    reason               TEXT NOT NULL,
    ticket               TEXT,
    expires_at_ms        INTEGER NOT NULL,
    compensating_control TEXT NOT NULL
);

-- (f) The rollout's own state of each ring (JSON), compare-and-set on version.
CREATE TABLE ring_rollouts (
    ring_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
);

-- (g) The event log with the fleet's sequence numbers (model Event as JSON).
CREATE TABLE events (
    seq   INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    kind  TEXT NOT NULL,
    body  TEXT NOT NULL
);

-- (h) Leases: one holder at a time ("one gateway advances the rollout").
CREATE TABLE leases (
    name          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    term          INTEGER NOT NULL
);

-- (i) Accepted actions with the fleet clock, to rebuild a simulator. Append-only.
CREATE TABLE journal (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    fleet_time_ms   INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    request         TEXT NOT NULL,
    action_id       TEXT,
    idempotency_key TEXT
);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the replay journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'the replay journal is append-only'); END;
