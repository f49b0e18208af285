import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every file under `dir`, in subdirectories too, sorted by path within each directory. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? filesUnder(full) : [full];
    });
}
