-- Batches that survive (issue 12): the selection an ESAT manager is declaring for, and each
-- worker's draft, so that a logout, a timeout or another replica finds the batch where it was
-- (services/batches.py). One open batch per account, read by that account only. Drafts hold
-- declared amounts: the rows go when the batch is finished or abandoned, and the retention job
-- deletes batches untouched for 30 days (services/retention.py).
CREATE TABLE batch (
    id VARCHAR(32) PRIMARY KEY,             -- random, chosen when the type is confirmed
    account_id INTEGER NOT NULL UNIQUE,     -- the manager who started it
    esat_id INTEGER NOT NULL,
    kind VARCHAR NOT NULL,                  -- a form id, or a question tree id
    with_questions BOOLEAN NOT NULL,        -- the kind is a question tree: each worker answers it
    current_rank INTEGER NOT NULL,          -- the worker being declared (rank in batch_worker)
    started_at TIMESTAMP NOT NULL,          -- UTC
    updated_at TIMESTAMP NOT NULL           -- UTC: last change saved (retention)
);
CREATE INDEX batch_updated ON batch (updated_at);

CREATE TABLE batch_worker (
    batch_id VARCHAR(32) NOT NULL,
    rank INTEGER NOT NULL,                  -- selection order, from 0
    worker_id INTEGER NOT NULL,
    draft VARCHAR,                          -- JSON: answers, form, step, typed values (NULL: none yet)
    declaration_id BIGINT,                  -- filed in this batch
    receipt_number VARCHAR,
    skipped BOOLEAN NOT NULL DEFAULT FALSE, -- passed without a declaration
    PRIMARY KEY (batch_id, rank)
);
