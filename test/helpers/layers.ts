// The test layers (README, "Tests"): `npm run test:unit` sets TEST_LAYER=unit and runs the files
// that need no Temporal server (*.unit.test.ts) plus the server-free parts of mixed files, whose
// server parts are skipped with `serverOnly`.

/** True under `npm run test:unit`: nothing may start a Temporal dev server. */
export const UNIT_LAYER = process.env.TEST_LAYER === 'unit';

/** Options for a describe/test that needs a dev server: skipped, with the reason, in the unit layer. */
export const serverOnly: { skip: string | false } = { skip: UNIT_LAYER ? 'needs a Temporal dev server (TEST_LAYER=unit)' : false };
