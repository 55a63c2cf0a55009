-- AUD-01: the audit trail becomes a hash chain. Each row carries the hash of the row before it and
-- its own HMAC-SHA256 (services/audit.py); audit_head holds the last number and hash, so that a row
-- removed at the end is detected too. `python -m services.audit verify` checks the whole chain.
-- The rows of the unchained trail (demo data only before this migration) are not kept.
DROP TABLE audit_log;
DROP SEQUENCE audit_seq;
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,                 -- 1, 2, 3… without gaps
    occurred_at TIMESTAMP NOT NULL,        -- UTC
    account_id INTEGER,
    action VARCHAR NOT NULL,
    object_ref VARCHAR,                    -- an identifier, never a name or a declared value
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL,
    last_hash VARCHAR NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, 'genese');
