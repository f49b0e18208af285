// Ordering of release tag names. Pure: workflow code uses it.

const NIGHTLY = /^(\d+)\.(\d+)\.(\d+)-0\.nightly(?:-[a-z0-9]+)?-(\d{4})-(\d{2})-(\d{2})-(\d{6})$/;

/**
 * Orders two nightly tags of one stream (`4.21.0-0.nightly-2026-01-19-132300`) by version,
 * then build time; undefined when either is not a nightly name, since then no order is safe.
 */
export function compareNightlies(a: string, b: string): number | undefined {
  const ma = NIGHTLY.exec(a);
  const mb = NIGHTLY.exec(b);
  if (!ma || !mb) return undefined;
  for (let i = 1; i < ma.length; i++) {
    const diff = Number(ma[i]) - Number(mb[i]);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** The newest of some nightly tags, ignoring names that are not nightlies. */
export function newestNightly(names: string[]): string | undefined {
  let newest: string | undefined;
  for (const name of names) {
    if (compareNightlies(name, name) === undefined) continue;
    if (newest === undefined || compareNightlies(name, newest)! > 0) newest = name;
  }
  return newest;
}

/** When a nightly was built, from its name (`…-2026-01-19-132300` is 13:23:00 UTC); undefined for other names. */
export function nightlyTimeMs(name: string): number | undefined {
  const m = NIGHTLY.exec(name);
  if (!m) return undefined;
  const [year, month, day, hms] = [m[4]!, m[5]!, m[6]!, m[7]!];
  const ms = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hms.slice(0, 2)), Number(hms.slice(2, 4)), Number(hms.slice(4, 6)));
  return Number.isNaN(ms) ? undefined : ms;
}
