import { readFile } from 'node:fs/promises';
import { TokenNotFoundError } from './errors';

/** For local use only: in the cluster the token is a mounted file. */
export const TOKEN_ENV_VAR = 'GANGWAY_API_TOKEN';

/**
 * Read on every use rather than once at start-up, so a rotated secret is picked up by
 * a long-running worker, and the token lives only as long as one request.
 */
export async function readGangwayToken(tokenPath: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env[TOKEN_ENV_VAR]?.trim();
  if (fromEnv) return fromEnv;
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
