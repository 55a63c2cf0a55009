-- Reminders of the certificat campaign (issue 13, point 4; services/reminders.py): at most one
-- per campaign, milestone and ESAT. A run claims the row in a transaction of its own before
-- sending (an INSERT that finds the key taken sends nothing: another run has it), and deletes
-- it again when no e-mail could be sent, so that a later run tries again. Counts only: no name,
-- no address.
CREATE TABLE reminder (
    campaign INTEGER NOT NULL,              -- the campaign year N
    milestone DATE NOT NULL,                -- the January N+1 day the reminder belongs to
    esat_id INTEGER NOT NULL,
    reminded_at TIMESTAMP NOT NULL,         -- UTC: claimed, the e-mails leave right after
    missing INTEGER NOT NULL,               -- workers expected without a certificat then, all Cafs
    recipients INTEGER NOT NULL,            -- e-mails sent (one per active manager of the ESAT)
    triggered_by INTEGER,                   -- the agent's account id; NULL: the scheduled job
    PRIMARY KEY (campaign, milestone, esat_id)
);

-- The count of one reminder for each Caf that had workers without a certificat then: an agent
-- sees the reminders (and counts) of their own Caf only.
CREATE TABLE reminder_caf (
    campaign INTEGER NOT NULL,
    milestone DATE NOT NULL,
    esat_id INTEGER NOT NULL,
    caf_code VARCHAR(3) NOT NULL,
    missing INTEGER NOT NULL,
    PRIMARY KEY (campaign, milestone, esat_id, caf_code)
);
CREATE INDEX reminder_caf_by_caf ON reminder_caf (caf_code, campaign);
