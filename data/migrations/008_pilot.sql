-- Pilot on the Caf's own data (issue 11): Caf administrators, provisional passwords and password
-- resets, partner addresses and activity, the worker file imported from the Caf's system, what the
-- Caf knew of a worker before each declaration, and the daily hand-over batches.

-- account: a new role 'admin' (a Caf administrator, scoped to its Caf). Neither store can change a
-- CHECK constraint in place on both dialects, so the table is rebuilt (no view or key refers to it).
CREATE TABLE account_v8 (
    id INTEGER PRIMARY KEY,
    login VARCHAR NOT NULL UNIQUE,          -- the identifiant (an e-mail address, lower case)
    email VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('esat', 'agent', 'relecteur', 'admin')),
    esat_id INTEGER,
    caf_code VARCHAR(3),
    display_name VARCHAR NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    demo BOOLEAN DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,  -- provisional password: changed first
    password_changed_at TIMESTAMP,          -- sessions that logged in before it are ended
    last_login_at TIMESTAMP,
    created_by INTEGER                      -- the administrator's account id (NULL: command line)
);
INSERT INTO account_v8 (id, login, email, password_hash, role, esat_id, caf_code, display_name, active,
                        created_at, demo)
SELECT id, login, email, password_hash, role, esat_id, caf_code, display_name, active, created_at, demo
FROM account;
DROP TABLE account;
ALTER TABLE account_v8 RENAME TO account;

-- "Mot de passe oublié ?": single-use links valid 30 minutes; only the SHA-256 of the token is kept.
CREATE TABLE password_reset (
    token_hash VARCHAR PRIMARY KEY,
    account_id INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX password_reset_account ON password_reset (account_id);

-- Partners: the ESAT's own address and whether it is active (nothing is ever deleted).
ALTER TABLE esat ADD COLUMN street VARCHAR;
ALTER TABLE esat ADD COLUMN postcode VARCHAR(5);
ALTER TABLE esat ADD COLUMN city VARCHAR;
ALTER TABLE esat ADD COLUMN active BOOLEAN DEFAULT TRUE;

-- The worker file: a worker absent from the last full extraction of its Caf is flagged, never
-- deleted (declarations already filed keep their worker); imported_at dates the last import.
ALTER TABLE worker ADD COLUMN absent_since TIMESTAMP;
ALTER TABLE worker ADD COLUMN imported_at TIMESTAMP;

-- What the Caf knew of the worker when the declaration was filed (JSON: rates, double activity,
-- status), for the hand-over; and the hand-over batch the declaration went in (exactly one).
ALTER TABLE declaration ADD COLUMN known_before VARCHAR;
ALTER TABLE declaration ADD COLUMN export_batch_id BIGINT;
CREATE INDEX declaration_export ON declaration (caf_code, export_batch_id);

-- One hand-over batch per Caf and day: exporting that day again rebuilds the same file from it.
CREATE SEQUENCE export_batch_seq START 1;
CREATE TABLE export_batch (
    id BIGINT PRIMARY KEY,
    caf_code VARCHAR(3) NOT NULL,
    day DATE NOT NULL,
    cutoff TIMESTAMP NOT NULL,              -- UTC: declarations received before it, not yet exported
    created_at TIMESTAMP NOT NULL,
    created_by INTEGER,
    schema_version INTEGER NOT NULL,
    declarations INTEGER NOT NULL,
    UNIQUE (caf_code, day)
);
