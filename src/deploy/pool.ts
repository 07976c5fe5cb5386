/**
 * Runs `fn` over `items` with at most `size` at once. Every item is attempted; if any failed, the
 * first error (in item order) is thrown after all have settled, so nothing is left half-running.
 */
export async function inPool<T, R>(
  items: readonly T[],
  size: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const errors: { i: number; err: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        errors.push({ i, err });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(size, items.length)) }, worker));
  if (errors.length) {
    errors.sort((a, b) => a.i - b.i);
    throw errors[0]!.err;
  }
  return results;
}
