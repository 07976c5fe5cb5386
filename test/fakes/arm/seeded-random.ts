/** A deterministic random source: the same seed gives the same sequence (mulberry32). */
export interface SeededRandom {
  /** Next number in [0, 1). */
  next(): number;
  /** True with probability `rate` (0 never draws, so rates of 0 do not shift the sequence). */
  chance(rate: number): boolean;
}

/** Creates a seeded random source. */
export function seededRandom(seed: number): SeededRandom {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (rate) => (rate <= 0 ? false : rate >= 1 ? true : next() < rate),
  };
}
