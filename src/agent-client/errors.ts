import { DirectorError } from '../errors.js';
import type { AgentErrorKind } from '../../agent/protocol.js';

/** Any failure reaching or running the agent of one VM. */
export class AgentClientError extends DirectorError {
  constructor(
    message: string,
    readonly vm: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgentClientError';
  }
}

/** The VM refused the director's key. */
export class AgentAuthError extends AgentClientError {
  override readonly name = 'AgentAuthError';
}

/** Connecting or a command took longer than allowed. */
export class AgentTimeoutError extends AgentClientError {
  override readonly name = 'AgentTimeoutError';
}

/** The TCP/SSH transport failed (refused, reset, closed mid-command). */
export class AgentSocketError extends AgentClientError {
  override readonly name: string = 'AgentSocketError';
}

/** The VM presented a host key other than the one the director generated for it. Never accepted. */
export class HostKeyMismatchError extends AgentClientError {
  override readonly name = 'HostKeyMismatchError';
  constructor(
    vm: string,
    readonly expectedFingerprint: string,
    readonly presentedFingerprint: string,
  ) {
    super(
      `Host key mismatch for ${vm}: expected ${expectedFingerprint}, the server presented ${presentedFingerprint}`,
      vm,
    );
  }
}

/** The agent ran the command and reported an error (or printed no response at all). */
export class AgentCommandError extends AgentClientError {
  override readonly name = 'AgentCommandError';
  constructor(
    vm: string,
    readonly command: string,
    readonly kind: AgentErrorKind | 'no_response',
    readonly agentMessage: string,
  ) {
    super(`Agent command '${command}' on ${vm} failed (${kind}): ${agentMessage}`, vm);
  }
}
