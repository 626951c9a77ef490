-- Time travel (apiKeys(asOf)) reads only the keys it returns, through these indexes:
-- a key's uses up to a position, counted index-only with the latest use time (a KeyUsed occurs at its usedAt);
CREATE INDEX "events_key_used_idx" ON "events"("stream_id", "position") INCLUDE ("occurred_at") WHERE "type" = 'KeyUsed';
-- the last position that occurred by a time.
CREATE INDEX "events_occurred_at_idx" ON "events"("occurred_at", "position");
