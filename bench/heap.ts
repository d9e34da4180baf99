// Heap measurement shared by the memory benches (bench:soak, bench:resume): run them with --expose-gc.

/** Heap used after two full collections (the second frees what the first's finalizers released). */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('this bench needs --expose-gc: run it through npm run bench:*');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Least-squares slope of y against x. */
export function slope(points: readonly [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
