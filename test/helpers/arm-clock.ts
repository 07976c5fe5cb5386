import type { ArmClock } from '../../cpi/azure/arm-requests.js';

/**
 * A CPI clock that runs as the fake ARM's time does: `timeScale` real ms per ARM ms, so a
 * Retry-After of 10 s waits 10 x 1000 x timeScale real ms, and the CPI's deadlines (the 180 s NIC
 * reservation) pass as fast as the fake's.
 */
export function scaledArmClock(timeScale: () => number): ArmClock {
  const start = Date.now();
  return {
    now: () => start + (Date.now() - start) / Math.max(timeScale(), 1e-9),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms * timeScale())),
  };
}
