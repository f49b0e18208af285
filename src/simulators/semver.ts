/**
 * Just enough Semantic Versioning 2.0 for release tags: the release controller orders a
 * stream's tags by semver (prerelease identifiers included), which is what makes nightly
 * names like `4.21.0-0.nightly-2026-01-19-132300` sort by date.
 */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ? m[4].split('.') : [] };
}

export function isSemver(text: string): boolean {
  return parseSemver(text) !== undefined;
}

/** Negative when a < b, positive when a > b, 0 when equal (build metadata ignored, as semver says). */
export function compareSemver(a: SemVer, b: SemVer): number {
  return (
    a.major - b.major ||
    a.minor - b.minor ||
    a.patch - b.patch ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

function comparePrerelease(a: string[], b: string[]): number {
  // A version without prerelease is greater than any prerelease of it.
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareIdentifier(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareIdentifier(a: string, b: string): number {
  const aNum = /^\d+$/.test(a);
  const bNum = /^\d+$/.test(b);
  if (aNum && bNum) return Number(a) - Number(b);
  if (aNum !== bNum) return aNum ? -1 : 1; // numeric identifiers sort before alphanumeric ones
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Newest first, for names already known to be semver. */
export function compareNamesNewestFirst(a: string, b: string): number {
  return compareSemver(parseSemver(b)!, parseSemver(a)!);
}

export type SemverRange = (v: SemVer) => boolean;

/**
 * Parses a range in the syntax the release controller's `?in=` takes: comparators
 * (`>`, `>=`, `<`, `<=`, `=`, `==`, `!=`, `!`, or none for equality) on full versions,
 * space-separated for AND, `||` for OR. Throws with a short reason when invalid.
 */
export function parseSemverRange(text: string): SemverRange {
  const alternatives = text.split('||').map((part) => part.trim());
  if (alternatives.some((part) => part === '')) throw new Error(`empty range in ${JSON.stringify(text)}`);
  const ors = alternatives.map((part) => {
    const ands = part.split(/\s+/).map(parseComparator);
    return (v: SemVer) => ands.every((test) => test(v));
  });
  return (v) => ors.some((test) => test(v));
}

function parseComparator(text: string): SemverRange {
  const m = /^(>=|<=|==|!=|>|<|=|!)?(.*)$/.exec(text)!;
  const op = m[1] ?? '=';
  const version = parseSemver(m[2]!);
  if (!version) throw new Error(`could not parse version ${JSON.stringify(m[2])} in ${JSON.stringify(text)}`);
  const tests: Record<string, (c: number) => boolean> = {
    '>': (c) => c > 0,
    '>=': (c) => c >= 0,
    '<': (c) => c < 0,
    '<=': (c) => c <= 0,
    '=': (c) => c === 0,
    '==': (c) => c === 0,
    '!=': (c) => c !== 0,
    '!': (c) => c !== 0,
  };
  const test = tests[op]!;
  return (v) => test(compareSemver(v, version));
}
