-- What the Caf knows of a worker's activity, kept up to date by each filed change
-- (DOMAIN §8.4), and the date each declaration takes effect.
ALTER TABLE worker ADD COLUMN double_activity_since DATE;
ALTER TABLE worker ADD COLUMN return_date DATE;          -- expected return from a parental leave
ALTER TABLE declaration ADD COLUMN effective_date DATE;
