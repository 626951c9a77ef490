-- Audit: public keys that signed checkpoints, and signed checkpoints of the hash chain's head.
-- Private keys never enter the database; every process registers the public half of its key.
CREATE TABLE "signing_keys" (
    "kid"        TEXT           NOT NULL,
    "public_jwk" JSONB          NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("kid")
);

-- One signed statement per checkpointed position: "the chain's hash at this position is head_hash".
CREATE TABLE "checkpoints" (
    "position"  BIGINT         NOT NULL,
    "head_hash" TEXT           NOT NULL,
    "signed_at" TIMESTAMPTZ(3) NOT NULL,
    "kid"       TEXT           NOT NULL,
    "jws"       TEXT           NOT NULL,

    CONSTRAINT "checkpoints_pkey" PRIMARY KEY ("position")
);

ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_kid_fkey" FOREIGN KEY ("kid") REFERENCES "signing_keys"("kid") ON DELETE RESTRICT ON UPDATE CASCADE;
