/**
 * Runs `work` over `items` with at most `limit` in flight. Deterministic in workflow code:
 * items start in order, and each slot takes the next one when its current one settles.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const slot = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, slot));
}
