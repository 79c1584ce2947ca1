-- An instance's claim on a pending AI request, until claimed_until (Unix
-- milliseconds): several instances on one store never answer one request,
-- and the claims of one that died expire and are taken up by another.
ALTER TABLE ai_requests ADD COLUMN claimed_by TEXT;
ALTER TABLE ai_requests ADD COLUMN claimed_until INTEGER;
