import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError } from '../../agent-client/gateway.js';
import type { AgentState } from '../../deploy/ports.js';

const STATE_TIMEOUT_MS = 10_000;

/**
 * An agent's state for a listing, or undefined when it does not answer in time (shown as
 * `unresponsive agent`). The timer is cancelled once the agent answers, so it does not hold the
 * process open. A gateway that cannot be used is the listing's one error, not every VM's state.
 */
export async function stateOf(get: () => Promise<AgentState>): Promise<AgentState | undefined> {
  const ac = new AbortController();
  try {
    return await Promise.race([get(), sleep(STATE_TIMEOUT_MS, undefined, { signal: ac.signal })]);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    return undefined;
  } finally {
    ac.abort();
  }
}
