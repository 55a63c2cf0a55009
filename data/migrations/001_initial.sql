-- Initial schema. Portable SQL (DuckDB now, PostgreSQL later): no engine-specific types.
-- Personal data kept to what the user guide displays: name, first name, birth date,
-- numéro d'allocataire and person role of each worker (no NIR, no address).

CREATE TABLE caf (
    code VARCHAR(3) PRIMARY KEY,
    name VARCHAR NOT NULL
);

CREATE TABLE esat (
    id INTEGER PRIMARY KEY,
    legal_name VARCHAR NOT NULL,
    siret VARCHAR(14) NOT NULL UNIQUE,
    caf_code VARCHAR(3) NOT NULL            -- Caf de rattachement
);

-- "Fonctions" of an ESAT (establishments); the home page shows the first registered one.
CREATE TABLE esat_site (
    esat_id INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    finess VARCHAR(9),
    name VARCHAR NOT NULL,
    street VARCHAR NOT NULL,
    postcode VARCHAR(5) NOT NULL,
    city VARCHAR NOT NULL,
    PRIMARY KEY (esat_id, rank)
);

-- Convention d'accès, contrat de services, bulletin d'adhésion to the ESAT service.
CREATE TABLE partner_contract (
    esat_id INTEGER NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN ('convention', 'contrat_services', 'bulletin_esat')),
    valid_from DATE NOT NULL,
    valid_to DATE,
    PRIMARY KEY (esat_id, kind, valid_from)
);

CREATE TABLE account (
    id INTEGER PRIMARY KEY,
    login VARCHAR NOT NULL UNIQUE,          -- the identifiant (an e-mail address)
    email VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('esat', 'agent', 'relecteur')),
    esat_id INTEGER,
    caf_code VARCHAR(3),
    display_name VARCHAR NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE cgu_version (
    scope VARCHAR NOT NULL CHECK (scope IN ('mcp', 'esat')),
    version INTEGER NOT NULL,
    title VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    published_on DATE NOT NULL,
    PRIMARY KEY (scope, version)
);

CREATE TABLE cgu_acceptance (
    account_id INTEGER NOT NULL,
    scope VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    accepted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, scope, version)
);

-- A worker is identified by (Caf, numéro d'allocataire, person role): a couple on one
-- file working in the same ESAT is two workers.
CREATE TABLE worker (
    id INTEGER PRIMARY KEY,
    caf_code VARCHAR(3) NOT NULL,
    allocataire VARCHAR(7) NOT NULL,
    person_role VARCHAR NOT NULL CHECK (person_role IN ('RESPONSABLE', 'CONJOINT')),
    last_name VARCHAR NOT NULL,
    first_name VARCHAR NOT NULL,
    birth_date DATE NOT NULL,
    esat_id INTEGER NOT NULL,
    rate_esat DECIMAL(5, 2),                -- known state, updated by declarations
    rate_mo DECIMAL(5, 2),
    double_activity BOOLEAN NOT NULL DEFAULT FALSE,
    status VARCHAR NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'LEFT', 'ON_LEAVE')),
    UNIQUE (caf_code, allocataire, person_role)
);
CREATE INDEX worker_esat_caf ON worker (esat_id, caf_code);

CREATE SEQUENCE declaration_seq START 1;

CREATE TABLE declaration (
    id BIGINT PRIMARY KEY,
    receipt_number VARCHAR NOT NULL UNIQUE,
    form_id VARCHAR NOT NULL,
    form_version INTEGER NOT NULL,
    worker_id INTEGER NOT NULL,
    esat_id INTEGER NOT NULL,
    caf_code VARCHAR(3) NOT NULL,
    author_id INTEGER NOT NULL,
    idempotency_key VARCHAR NOT NULL UNIQUE, -- one per wizard run: a repeat returns the first
    natural_key VARCHAR UNIQUE,             -- e.g. one certificat per worker and campaign
    campaign INTEGER,                       -- certificat: year N of the 1 December opening
    received_at TIMESTAMP NOT NULL,         -- UTC
    verification_code VARCHAR NOT NULL
);
CREATE INDEX declaration_worker ON declaration (worker_id, received_at);
CREATE INDEX declaration_caf ON declaration (caf_code, form_id, received_at);

-- Declared values, typed: amounts and rates as DECIMAL, never float.
CREATE TABLE declaration_value (
    declaration_id BIGINT NOT NULL,
    field_id VARCHAR NOT NULL,
    number DECIMAL(12, 2),
    day DATE,
    text VARCHAR,
    PRIMARY KEY (declaration_id, field_id)
);

CREATE SEQUENCE feedback_seq START 1;
CREATE TABLE feedback (
    id BIGINT PRIMARY KEY,
    declaration_id BIGINT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment VARCHAR,
    created_at TIMESTAMP NOT NULL
);

-- Accusés de réception: written in the same transaction as the declaration, delivered after.
CREATE TABLE outbox (
    declaration_id BIGINT PRIMARY KEY,
    recipient VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    message VARCHAR NOT NULL,              -- the whole RFC 5322 message, as sent
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);

CREATE SEQUENCE audit_seq START 1;
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    account_id INTEGER,
    action VARCHAR NOT NULL,
    object_ref VARCHAR
);
