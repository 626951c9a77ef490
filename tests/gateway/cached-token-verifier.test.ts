import { describe, expect, it } from "vitest";
import { createTokenVerifier, signToken } from "../../src/auth/tokens.js";
import { cachedTokenVerifier } from "../../src/gateway/cached-token-verifier.js";

const SECRET = "cache-test-secret-that-is-long-enough-0123456789";

function countingVerifier() {
  const real = createTokenVerifier({ secret: SECRET });
  const counter = { calls: 0 };
  const verify = (token: string) => {
    counter.calls++;
    return real(token);
  };
  return { verify, counter };
}

describe("cachedTokenVerifier", () => {
  it("verifies a token once per TTL and again after it", async () => {
    const { verify, counter } = countingVerifier();
    let clock = Date.now();
    const cached = cachedTokenVerifier(verify, { ttlMs: 1_000, now: () => clock });
    const token = await signToken(SECRET, { sub: "edge", roles: ["gateway"], expiresIn: "1h" });
    expect((await cached(token)).userId).toBe("edge");
    expect((await cached(token)).roles.has("gateway")).toBe(true);
    expect(counter.calls).toBe(1);
    clock += 1_001;
    await cached(token);
    expect(counter.calls).toBe(2);
  });

  it("never trusts a token past its exp", async () => {
    const { verify, counter } = countingVerifier();
    let clock = Date.now();
    const cached = cachedTokenVerifier(verify, { ttlMs: 3_600_000, now: () => clock });
    const token = await signToken(SECRET, { sub: "edge", roles: ["gateway"], expiresIn: "2s" });
    await cached(token);
    clock += 1_000;
    await cached(token);
    expect(counter.calls).toBe(1);
    clock += 2_000;
    await cached(token); // past exp for the cache: verified again (jose still accepts within its 5 s tolerance)
    expect(counter.calls).toBe(2);
  });

  it("does not remember failures, and forgets the oldest token when full", async () => {
    const { verify, counter } = countingVerifier();
    const cached = cachedTokenVerifier(verify, { maxEntries: 2 });
    await expect(cached("not-a-token")).rejects.toThrow();
    await expect(cached("not-a-token")).rejects.toThrow();
    expect(counter.calls).toBe(2);
    const tokens = await Promise.all(["a", "b", "c"].map((sub) => signToken(SECRET, { sub, roles: ["gateway"], expiresIn: "1h" })));
    for (const token of tokens) await cached(token);
    expect(counter.calls).toBe(5);
    await cached(tokens[2]!);
    await cached(tokens[1]!);
    expect(counter.calls).toBe(5);
    await cached(tokens[0]!);
    expect(counter.calls).toBe(6);
  });
});
