-- Projection of the key events: the per-service key tables. Rebuildable from the log alone.
CREATE TABLE "api_keys" (
    "id"               UUID           NOT NULL,
    "owner_id"         TEXT           NOT NULL,
    "service"          TEXT           NOT NULL,
    "name"             TEXT           NOT NULL,
    "description"      TEXT,
    "key_hash"         TEXT           NOT NULL,
    "masked_key"       TEXT           NOT NULL,
    "status"           TEXT           NOT NULL,
    "version"          INTEGER        NOT NULL,
    "created_position" BIGINT         NOT NULL,
    "created_at"       TIMESTAMPTZ(3) NOT NULL,
    "updated_at"       TIMESTAMPTZ(3) NOT NULL,
    "last_used_at"     TIMESTAMPTZ(3),
    "usage_count"      BIGINT         NOT NULL DEFAULT 0,
    "revoked_at"       TIMESTAMPTZ(3),
    "revoke_reason"    TEXT,

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "api_keys_status_check" CHECK ("status" IN ('ACTIVE', 'INACTIVE', 'REVOKED'))
);

CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");
CREATE UNIQUE INDEX "api_keys_created_position_key" ON "api_keys"("created_position");
CREATE INDEX "api_keys_owner_listing_idx" ON "api_keys"("owner_id", "service", "created_position" DESC);
