/** A variable that scripts/integration/run.mjs sets; a clear failure when the suite runs without it. */
export function integrationEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run integration tests through scripts/integration/run.mjs`);
  return value;
}
