// npm run token -- --sub alice --role owner [--role admin] [--expires 1h]   (default 12h, at most JWT_MAX_LIFETIME)
// Signs an HS256 token with JWT_SECRET, or with the development secret in DATA_DIR.
import { parseArgs } from "node:util";
import { decodeJwt } from "jose";
import { readDevSecret } from "../src/auth/dev-secret.js";
import { signToken } from "../src/auth/tokens.js";
import { ROLES, type Role } from "../src/auth/viewer.js";
import { loadConfig } from "../src/config.js";

const USAGE = "usage: npm run token -- --sub <user id> [--role owner|auditor|gateway|admin]... [--expires 12h]";

function parseOptions() {
  try {
    return parseArgs({
      options: {
        sub: { type: "string" },
        role: { type: "string", multiple: true },
        expires: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    // --help, an unknown option or a missing value: the usage, not a stack trace.
    console.error(`${(error as Error).message.split("\n")[0]}\n${USAGE}`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const config = loadConfig();
const secret = config.jwt.secret ?? readDevSecret(config.dataDir);
if (!values.sub) {
  console.error(USAGE);
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
// 12 hours unless JWT_MAX_LIFETIME is shorter.
const expires = values.expires ?? `${Math.min(12 * 3600, config.jwt.maxLifetimeSeconds)}s`;
let token: string;
try {
  token = await signToken(secret, {
    sub: values.sub,
    roles: roles as Role[],
    expiresIn: expires,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
  });
} catch {
  console.error(`--expires ${expires}: give a duration such as 30m, 12h or 7d`);
  process.exit(2);
}
// The server refuses tokens that outlive JWT_MAX_LIFETIME: do not hand out one it would refuse.
const { exp, iat } = decodeJwt(token);
if (exp! <= iat! || exp! - iat! > config.jwt.maxLifetimeSeconds) {
  console.error(`--expires ${expires}: must be positive and at most JWT_MAX_LIFETIME (${config.jwt.maxLifetimeSeconds} s)`);
  process.exit(2);
}
console.log(token);
