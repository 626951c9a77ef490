-- The append-only event log. Positions are dense and handed out in commit order
-- (appends serialise on an advisory lock), so "position > last seen" never skips.
CREATE TABLE "events" (
    "position"       BIGINT       NOT NULL,
    "event_id"       UUID         NOT NULL,
    "stream_id"      TEXT         NOT NULL,
    "stream_version" INTEGER,
    "type"           TEXT         NOT NULL,
    "schema_version" INTEGER      NOT NULL,
    "data"           JSONB        NOT NULL,
    "metadata"       JSONB        NOT NULL,
    "occurred_at"    TIMESTAMPTZ(3) NOT NULL,
    "hash"           TEXT         NOT NULL,

    CONSTRAINT "events_pkey" PRIMARY KEY ("position")
);

CREATE UNIQUE INDEX "events_event_id_key" ON "events"("event_id");
CREATE UNIQUE INDEX "events_stream_version_key" ON "events"("stream_id", "stream_version");
CREATE INDEX "events_stream_position_idx" ON "events"("stream_id", "position");
