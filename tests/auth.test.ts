import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { ListKeysDocument } from "./generated/graphql.js";
import { clientWithHeader, expectCode, graphQLErrorOf } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer, TEST_JWT_SECRET } from "./support/server.js";

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const hs256 = (claims: Record<string, unknown> = {}) =>
  new SignJWT({ roles: ["owner"], ...claims }).setProtectedHeader({ alg: "HS256" }).setSubject("alice");

describe(`authentication (${backendName})`, () => {
  const server = useTestServer({ JWT_ISSUER: "https://issuer.test", JWT_AUDIENCE: "keyledger" });

  const good = () => hs256().setIssuer("https://issuer.test").setAudience("keyledger").setExpirationTime("5m");
  const list = (authorization?: string) => clientWithHeader(server.url, authorization).request(ListKeysDocument, {});

  it("accepts a valid token", async () => {
    const result = await list(`Bearer ${await good().sign(secret)}`);
    expect(result.apiKeys.totalCount).toBe(0);
  });

  it("answers every kind of bad token with UNAUTHENTICATED", async () => {
    const other = new TextEncoder().encode("another-secret-of-sufficient-length-0123456789");
    const cases: Array<[string, string | undefined]> = [
      ["no header", undefined],
      ["not a bearer header", `Basic ${Buffer.from("a:b").toString("base64")}`],
      ["garbage", "Bearer not.a.jwt"],
      ["expired", `Bearer ${await good().setExpirationTime(now() - 60).sign(secret)}`],
      ["not yet valid", `Bearer ${await good().setNotBefore(now() + 600).sign(secret)}`],
      ["wrong signature", `Bearer ${await good().sign(other)}`],
      ["alg none", `Bearer ${new UnsecuredJWT({ roles: ["admin"] }).setSubject("alice").setIssuer("https://issuer.test").setAudience("keyledger").setExpirationTime("5m").encode()}`],
      ["wrong issuer", `Bearer ${await hs256().setIssuer("https://evil.test").setAudience("keyledger").setExpirationTime("5m").sign(secret)}`],
      ["wrong audience", `Bearer ${await hs256().setIssuer("https://issuer.test").setAudience("other").setExpirationTime("5m").sign(secret)}`],
      ["no subject", `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuer("https://issuer.test").setAudience("keyledger").sign(secret)}`],
      ["roles not an array", `Bearer ${await hs256({ roles: "admin" }).setIssuer("https://issuer.test").setAudience("keyledger").setExpirationTime("5m").sign(secret)}`],
    ];
    for (const [name, header] of cases) {
      const error = await graphQLErrorOf(list(header));
      expect(error.extensions.code, name).toBe("UNAUTHENTICATED");
    }
  });

  it("explains why a token was refused", async () => {
    const expired = await graphQLErrorOf(list(`Bearer ${await good().setExpirationTime(now() - 60).sign(secret)}`));
    expect(expired.message).toBe("The token has expired");
    const early = await graphQLErrorOf(list(`Bearer ${await good().setNotBefore(now() + 600).sign(secret)}`));
    expect(early.message).toBe("The token is not valid yet");
  });

  it("treats a token without roles as an owner", async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("dora").setIssuer("https://issuer.test").setAudience("keyledger").setExpirationTime("5m").sign(secret);
    expect((await list(`Bearer ${token}`)).apiKeys.totalCount).toBe(0);
  });
});

describe("authentication with JWKS_URL", () => {
  let jwks: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256");
    privateKey = pair.privateKey as CryptoKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => {
    jwks.close();
  });
  const server = useTestServer(() => ({ JWT_SECRET: "", JWKS_URL: jwksUrl }));

  it("accepts tokens signed by a key in the set and refuses HS256 ones", async () => {
    const token = await new SignJWT({ roles: ["owner"] }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setSubject("erin").setExpirationTime("5m").sign(privateKey);
    const result = await clientWithHeader(server.url, `Bearer ${token}`).request(ListKeysDocument, {});
    expect(result.apiKeys.totalCount).toBe(0);
    const confused = await hs256().setExpirationTime("5m").sign(secret);
    await expectCode(clientWithHeader(server.url, `Bearer ${confused}`).request(ListKeysDocument, {}), "UNAUTHENTICATED");
  });
});
