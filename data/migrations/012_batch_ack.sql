-- One accusé de réception for a batch of certificats filed together (issue 13, services/campaign.py).
-- The declarations of a batch are filed without an accusé of their own (declarations.submit with
-- ack=False); at the end of the filing, one row here holds the e-mail that lists their receipt
-- numbers, written once per batch (the key is the batch's) and sent like the outbox: claimed
-- (sent_at set), then sent, given back when sending fails (declarations.deliver_batch,
-- retried by declarations.deliver_pending). ``declarations`` lists the ids the e-mail covers: a
-- declaration of the batch filed after it was written gets its own accusé instead.
CREATE TABLE batch_ack (
    batch_key VARCHAR PRIMARY KEY,
    account_id INTEGER NOT NULL,            -- the manager who filed the batch
    recipient VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    message VARCHAR NOT NULL,               -- the whole RFC 5322 message, as sent
    declarations VARCHAR NOT NULL,          -- JSON list of the declaration ids the message lists
    created_at TIMESTAMP NOT NULL,          -- UTC
    sent_at TIMESTAMP                       -- UTC: claimed for sending (NULL: to send)
);
