import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError } from '../../agent-client/gateway.js';
import { AgentAuthError, AgentCommandError, HostKeyMismatchError } from '../../agent-client/errors.js';
import type { AgentState } from '../../deploy/ports.js';

const STATE_TIMEOUT_MS = 10_000;

/** What a listing shows of an agent: its state, or why it did not answer when that is known. */
export type AgentAnswer = { readonly state: AgentState } | { readonly reason: string | undefined };

/**
 * Why an agent did not answer, in a few words for a listing's Process State column, when the
 * failure says more than silence does (a dead VM or a slow one is just `unresponsive agent`).
 */
function reasonOf(err: unknown): string | undefined {
  if (err instanceof HostKeyMismatchError) return 'host key mismatch';
  if (err instanceof AgentAuthError) return "the VM refused the director's key";
  if (err instanceof AgentCommandError) return `agent error: ${err.kind}`;
  return undefined;
}

/**
 * An agent's state for a listing, or why not: `unresponsive agent` when it does not answer in
 * time, with the reason when the failure says one (`unresponsive agent (host key mismatch)`).
 * The timer is cancelled once the agent answers, so it does not hold the process open. A gateway
 * that cannot be used is the listing's one error, not every VM's state.
 */
export async function answerOf(get: () => Promise<AgentState>): Promise<AgentAnswer> {
  const ac = new AbortController();
  try {
    const state = await Promise.race([get(), sleep(STATE_TIMEOUT_MS, undefined, { signal: ac.signal })]);
    return state === undefined ? { reason: undefined } : { state };
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    return { reason: reasonOf(err) };
  } finally {
    ac.abort();
  }
}

/** The state alone (undefined when the agent did not answer). */
export async function stateOf(get: () => Promise<AgentState>): Promise<AgentState | undefined> {
  const a = await answerOf(get);
  return 'state' in a ? a.state : undefined;
}

/** The Process State column: the agent's state, or `unresponsive agent (why)`. */
export function processState(a: AgentAnswer): string {
  return 'state' in a ? a.state.state : a.reason ? `unresponsive agent (${a.reason})` : 'unresponsive agent';
}
