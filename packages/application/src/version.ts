/** Strata's release version, reported on `/` and in the OpenAPI document. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const STRATA_VERSION: string = (require('../package.json') as { version: string }).version;
