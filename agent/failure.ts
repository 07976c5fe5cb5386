import type { AgentErrorKind } from './protocol.js';

/** A command failure the agent reports as `{ok: false, error: {kind, message}}`. */
export class AgentFailure extends Error {
  constructor(
    readonly kind: AgentErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AgentFailure';
  }
}
