// npm run token -- --sub alice --role owner [--role admin] [--expires 1h]
// Signs an HS256 token with JWT_SECRET, or with the development secret in DATA_DIR.
import { parseArgs } from "node:util";
import { readDevSecret } from "../src/auth/dev-secret.js";
import { signToken } from "../src/auth/tokens.js";
import { ROLES, type Role } from "../src/auth/viewer.js";
import { loadConfig } from "../src/config.js";

const { values } = parseArgs({
  options: {
    sub: { type: "string" },
    role: { type: "string", multiple: true },
    expires: { type: "string", default: "12h" },
  },
});

const config = loadConfig();
const secret = config.jwt.secret ?? readDevSecret(config.dataDir);
if (!values.sub) {
  console.error("usage: npm run token -- --sub <user id> [--role owner|auditor|gateway|admin]... [--expires 12h]");
  process.exit(2);
}
const roles = values.role ?? ["owner"];
const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role));
if (unknown.length > 0) {
  console.error(`unknown role ${unknown.join(", ")}; roles are ${ROLES.join(", ")}`);
  process.exit(2);
}
if (!secret) {
  console.error(`No JWT_SECRET and no development secret in ${config.dataDir}: start the server once (npm start) or set JWT_SECRET.`);
  process.exit(1);
}
console.log(
  await signToken(secret, {
    sub: values.sub,
    roles: roles as Role[],
    expiresIn: values.expires,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
  }),
);
