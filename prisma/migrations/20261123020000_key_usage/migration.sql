-- Usage projection: KeyUsed counts per key and minute (hours and days are sums of minutes).
CREATE TABLE "key_usage" (
    "key_id"       UUID           NOT NULL,
    "bucket_start" TIMESTAMPTZ(0) NOT NULL,
    "count"        BIGINT         NOT NULL,

    CONSTRAINT "key_usage_pkey" PRIMARY KEY ("key_id", "bucket_start")
);
