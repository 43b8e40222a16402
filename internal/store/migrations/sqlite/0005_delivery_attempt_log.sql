-- Why each attempt of a delivery failed: a JSON array of the recent attempts
-- (number, time, status code or the kind of network failure, duration).
ALTER TABLE deliveries ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '[]';
