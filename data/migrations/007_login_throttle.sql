-- AUTH-02: failed logins, to slow down guessing per account and per source (services/accounts.py).
-- The key is an HMAC of the identifiant or of the address, never the text typed.
CREATE TABLE login_failure (
    key VARCHAR NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failure_key ON login_failure (key, failed_at);

-- AUTH-08: accounts created by the demo generator work only when the service runs in demo mode.
ALTER TABLE account ADD COLUMN demo BOOLEAN DEFAULT FALSE;
