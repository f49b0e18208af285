import { readFile } from 'node:fs/promises';
import { TokenNotFoundError } from './errors';

/**
 * Read on every use rather than once at start-up, so a rotated secret is picked up by
 * a long-running worker, and the token lives only as long as one request.
 */
export async function readGangwayToken(tokenPath: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(tokenPath, 'utf8');
  } catch {
    throw new TokenNotFoundError(tokenPath);
  }
  const token = text.trim();
  if (!token) throw new TokenNotFoundError(tokenPath);
  return token;
}
