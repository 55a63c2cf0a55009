-- "Late" means received after 15 January N+1 in Paris: 16 January 00:00 Paris is 15 January 23:00 UTC
-- (Europe/Paris is UTC+1 in January), and the store keeps UTC.
CREATE OR REPLACE VIEW v_certificat AS
SELECT d.id, d.caf_code, d.esat_id, d.worker_id, d.campaign, d.received_at,
       d.received_at >= make_date(d.campaign + 1, 1, 15) + INTERVAL '23' HOUR AS late
FROM declaration d
WHERE d.form_id = 'certificat_emploi';
