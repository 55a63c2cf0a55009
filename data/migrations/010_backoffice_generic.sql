-- Back office read from generic facts, never from form ids (issue 12, point 11), so that a
-- declaration type written as YAML only (e.g. the return to the ESAT) is counted and listed like the others:
-- a certificat is a declaration filed for a campaign; a change of situation has none; a start or end
-- of double activity, a rate change and a change of status are read from the changes the
-- declaration stores (effects, migration 009) and what the Caf knew before it (known_before).

-- Certificats: every declaration filed for a campaign, once per worker: a rectificatif is not a
-- second certificat (the first filing dates its receipt). "Late" as in 004 (15 January N+1, Paris).
CREATE OR REPLACE VIEW v_certificat AS
SELECT d.id, d.caf_code, d.esat_id, d.worker_id, d.campaign, d.received_at,
       d.received_at >= make_date(d.campaign + 1, 1, 15) + INTERVAL '23' HOUR AS late
FROM declaration d
WHERE d.campaign IS NOT NULL AND d.replaces_id IS NULL;

-- Changes of situation: every declaration without a campaign. The ESAT rate before and after come
-- from what the Caf knew and what the declaration changes; double_activity is TRUE for a start,
-- FALSE for an end, NULL otherwise. motif_depart is the departure reason (reference list
-- motifs_depart) of the forms that ask it.
DROP VIEW v_change;
CREATE VIEW v_change AS
SELECT d.id, d.caf_code, d.esat_id, d.form_id, d.received_at, d.effective_date,
       max(CASE WHEN v.field_id = 'motif_depart' THEN v.text END) AS motif_depart,
       CAST(CAST(d.known_before AS JSON) ->> 'rate_esat' AS DECIMAL(5, 2)) AS rate_before,
       CAST(CAST(d.effects AS JSON) ->> 'rate_esat' AS DECIMAL(5, 2)) AS rate_after,
       CAST(CAST(d.effects AS JSON) ->> 'double_activity' AS BOOLEAN) AS double_activity
FROM declaration d
LEFT JOIN declaration_value v ON v.declaration_id = d.id
WHERE d.campaign IS NULL
GROUP BY d.id, d.caf_code, d.esat_id, d.form_id, d.received_at, d.effective_date, d.known_before, d.effects;

-- The inbox, with what the corbeille shows besides (columns appended: PostgreSQL's CREATE OR
-- REPLACE VIEW only adds columns at the end): the person of the dossier, and the corrections
-- (with the receipt number of the declaration a rectificatif replaces).
CREATE OR REPLACE VIEW v_inbox AS
SELECT d.id, d.receipt_number, d.form_id, d.caf_code, d.esat_id, e.legal_name AS esat_name,
       d.worker_id, w.last_name, w.first_name, w.allocataire,
       d.received_at, d.effective_date, d.processed_at, d.processed_by,
       CAST(floor(extract(epoch FROM (d.processed_at - d.received_at)) / 60) AS BIGINT) AS delay_minutes,
       w.person_role, d.replaces_id, d.superseded_at, r.receipt_number AS replaces_receipt
FROM declaration d
JOIN esat e ON e.id = d.esat_id
JOIN worker w ON w.id = d.worker_id
LEFT JOIN declaration r ON r.id = d.replaces_id;

-- Changes of a worker's status still in force (not superseded), from their date of effect: what
-- decides whether the worker was in the ESAT on a given day (services/backoffice.expected_sql).
CREATE VIEW v_status_change AS
SELECT d.id, d.caf_code, d.worker_id, d.effective_date,
       CAST(d.effects AS JSON) ->> 'status' AS status,
       CAST(CAST(d.effects AS JSON) ->> 'return_date' AS DATE) AS return_date
FROM declaration d
WHERE d.effective_date IS NOT NULL AND d.superseded_at IS NULL AND d.effects IS NOT NULL
  AND CAST(d.effects AS JSON) ->> 'status' IS NOT NULL;
