import { z } from 'zod';

/** Thrown for any invalid simulator input (scenario file, fault, control request). Its message is one line. */
export class SimulatorInputError extends Error {
  override readonly name = 'SimulatorInputError';
}

/**
 * Parses `input` with `schema`, or throws a one-line error naming the first bad key path,
 * e.g. `scenario: releaseController.streams.4.21.0-0.nightly.tags.0.phase: invalid enum value (...)`.
 * One line because the caller prints it as the whole diagnosis (CLI stderr, HTTP 400 body).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new SimulatorInputError(`${what}: ${describeIssue(result.error.issues[0])}`);
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  const path = issue.path.map(String);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${joinPath([...path, issue.keys[0] ?? ''])}: unknown key`;
    case 'invalid_value':
      return `${joinPath(path)}: invalid enum value (expected one of: ${issue.values.map(String).join(', ')})`;
    case 'invalid_type':
      return `${joinPath(path)}: ${issue.input === undefined ? 'required' : `expected ${issue.expected}`}`;
    default:
      return `${joinPath(path)}: ${oneLine(issue.message)}`;
  }
}

function joinPath(path: string[]): string {
  return path.length === 0 ? '(root)' : path.join('.');
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.charAt(0).toLowerCase() + flat.slice(1);
}
