-- Caf back office: processing of received declarations, and the views the dashboards read.
ALTER TABLE declaration ADD COLUMN processed_at TIMESTAMP;   -- marked "traitée" by a Caf agent
ALTER TABLE declaration ADD COLUMN processed_by INTEGER;     -- that agent's account id

-- Certificats with their campaign milestone: filed after 15 January N+1 is "late".
CREATE VIEW v_certificat AS
SELECT d.id, d.caf_code, d.esat_id, d.worker_id, d.campaign, d.received_at,
       d.received_at >= make_date(d.campaign + 1, 1, 16) AS late
FROM declaration d
WHERE d.form_id = 'certificat_emploi';

-- Every declaration with the numbers the inbox and the delays need.
CREATE VIEW v_inbox AS
SELECT d.id, d.receipt_number, d.form_id, d.caf_code, d.esat_id, e.legal_name AS esat_name,
       d.worker_id, w.last_name, w.first_name, w.allocataire,
       d.received_at, d.effective_date, d.processed_at, d.processed_by,
       CAST(floor(extract(epoch FROM (d.processed_at - d.received_at)) / 60) AS BIGINT) AS delay_minutes
FROM declaration d
JOIN esat e ON e.id = d.esat_id
JOIN worker w ON w.id = d.worker_id;

-- Changes of situation, with the values the dashboards group on.
CREATE VIEW v_change AS
SELECT d.id, d.caf_code, d.esat_id, d.form_id, d.received_at, d.effective_date,
       max(CASE WHEN v.field_id = 'motif_depart' THEN v.text END) AS motif_depart,
       max(CASE WHEN v.field_id IN ('taux_avant', 'taux_esat_avant') THEN v.number END) AS rate_before,
       max(CASE WHEN v.field_id IN ('nouveau_taux', 'taux_esat_apres') THEN v.number END) AS rate_after
FROM declaration d
LEFT JOIN declaration_value v ON v.declaration_id = d.id
WHERE d.form_id <> 'certificat_emploi'
GROUP BY d.id, d.caf_code, d.esat_id, d.form_id, d.received_at, d.effective_date;
