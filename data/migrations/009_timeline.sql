-- Rules the Caf can pay on (issue 12). A worker's known state is now a timeline: the worker row
-- holds what the Caf's file says (the baseline), and each declaration stores the changes it makes
-- from its date of effect; "as of" a date, the state is the baseline plus the changes dated on or
-- before it (services/timeline.py). A declaration also freezes, at filing, the values derived from
-- it and the warnings the ESAT went past, so its justificatif never changes. A rectificative
-- declaration supersedes the one it corrects; both are kept.
ALTER TABLE worker ADD COLUMN entry_date DATE;          -- date d'entrée à l'ESAT (Caf file), NULL unknown
ALTER TABLE declaration ADD COLUMN effects VARCHAR;     -- JSON: known-state changes from effective_date
ALTER TABLE declaration ADD COLUMN derived VARCHAR;     -- JSON: [{id, label, value}] computed at filing
ALTER TABLE declaration ADD COLUMN warnings VARCHAR;    -- JSON: [{field, message}] shown before filing
ALTER TABLE declaration ADD COLUMN replaces_id BIGINT;  -- a rectificative: the declaration it corrects
ALTER TABLE declaration ADD COLUMN superseded_at TIMESTAMP;  -- UTC: when a rectificative replaced it
ALTER TABLE declaration ADD COLUMN superseded_by BIGINT;

-- Declarations filed under migration 008 changed the worker row but stored no effects: give each
-- one the state it left behind, which is what the Caf knew before the worker's next declaration,
-- or, for the last one, the worker row as it is now (the whole state: folding it is the same as
-- folding only the changes). Certificats have no date of effect and change nothing.
UPDATE declaration SET effects = COALESCE(
    (SELECT n.known_before FROM declaration n
     WHERE n.worker_id = declaration.worker_id AND n.known_before IS NOT NULL AND n.id > declaration.id
     ORDER BY n.id LIMIT 1),
    (SELECT '{"double_activity":' || CASE WHEN w.double_activity THEN 'true' ELSE 'false' END
        || ',"double_activity_since":' || COALESCE('"' || CAST(w.double_activity_since AS VARCHAR) || '"', 'null')
        || ',"rate_esat":' || COALESCE('"' || CAST(w.rate_esat AS VARCHAR) || '"', 'null')
        || ',"rate_mo":' || COALESCE('"' || CAST(w.rate_mo AS VARCHAR) || '"', 'null')
        || ',"return_date":' || COALESCE('"' || CAST(w.return_date AS VARCHAR) || '"', 'null')
        || ',"status":"' || w.status || '"}'
     FROM worker w WHERE w.id = declaration.worker_id))
WHERE known_before IS NOT NULL AND effective_date IS NOT NULL;

-- Until now each filing overwrote the worker row. Give it back its baseline: what the Caf knew
-- before the worker's first declaration (stored with each declaration since migration 008).
UPDATE worker SET
    rate_esat = CAST(CAST(f.known AS JSON) ->> 'rate_esat' AS DECIMAL(5, 2)),
    rate_mo = CAST(CAST(f.known AS JSON) ->> 'rate_mo' AS DECIMAL(5, 2)),
    double_activity = CAST(CAST(f.known AS JSON) ->> 'double_activity' AS BOOLEAN),
    double_activity_since = CAST(CAST(f.known AS JSON) ->> 'double_activity_since' AS DATE),
    status = CAST(f.known AS JSON) ->> 'status',
    return_date = CAST(CAST(f.known AS JSON) ->> 'return_date' AS DATE)
FROM (
    SELECT d.worker_id, d.known_before AS known FROM declaration d
    WHERE d.known_before IS NOT NULL AND d.id = (
        SELECT min(e.id) FROM declaration e WHERE e.worker_id = d.worker_id AND e.known_before IS NOT NULL)
) f
WHERE f.worker_id = worker.id;
