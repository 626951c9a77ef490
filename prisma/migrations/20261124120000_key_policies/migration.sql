-- Key policies (issue #10): expiry, permissions, meta, rate limits, credits, rotation.

-- The key table shows every policy; credits_remaining is the balance as of the last event that moved it.
ALTER TABLE "api_keys"
    ADD COLUMN "expires_at"        TIMESTAMPTZ(3),
    ADD COLUMN "permissions"       TEXT[]  NOT NULL DEFAULT '{}',
    ADD COLUMN "meta"              JSONB,
    ADD COLUMN "ratelimits"        JSONB   NOT NULL DEFAULT '[]',
    ADD COLUMN "credits_remaining" BIGINT,
    ADD COLUMN "credits_refill"    JSONB,
    ADD COLUMN "last_refill_at"    TIMESTAMPTZ(3),
    ADD COLUMN "rotated_from"      UUID,
    ADD COLUMN "rotated_to"        UUID,
    -- The key whose credits and rate limits this one spends: itself, or its successor after a rotation.
    ADD COLUMN "limits_key_id"     UUID;
UPDATE "api_keys" SET "limits_key_id" = "id";
ALTER TABLE "api_keys" ALTER COLUMN "limits_key_id" SET NOT NULL;

-- What a verification decides on, one row per key, locked FOR UPDATE by the verifier (and by the
-- commands that change limits) before the append lock: the only lock a limit or credit decision takes.
CREATE TABLE "key_limits" (
    "key_id"            UUID           NOT NULL,
    "ratelimits"        JSONB          NOT NULL DEFAULT '[]',
    -- Per rate limit's name: [[sub-window start (ms), admitted cost], ...], oldest first.
    "windows"           JSONB          NOT NULL DEFAULT '{}',
    "credits_remaining" BIGINT,
    "credits_refill"    JSONB,
    "last_refill_at"    TIMESTAMPTZ(3),
    "forwarded_to"      UUID,

    CONSTRAINT "key_limits_pkey" PRIMARY KEY ("key_id")
);
INSERT INTO "key_limits" ("key_id") SELECT "id" FROM "api_keys";

-- keyUsage counts outcomes: count stays the VALID count.
ALTER TABLE "key_usage"
    ADD COLUMN "rate_limited"   BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "usage_exceeded" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "denied"         BIGINT NOT NULL DEFAULT 0;

