/** CI runs the suite once per backend; a PostgreSQL run without a database must fail, not skip. */
export default function setup(): void {
  if (process.env.KEYLEDGER_TEST_BACKEND === "postgres" && !process.env.DATABASE_URL) {
    throw new Error("KEYLEDGER_TEST_BACKEND=postgres but DATABASE_URL is not set");
  }
  const backend = process.env.DATABASE_URL ? "PostgreSQL (DATABASE_URL)" : "embedded PGlite";
  process.stdout.write(`keyledger tests on ${backend}\n`);
}
