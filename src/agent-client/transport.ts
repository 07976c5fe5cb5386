/** What running a command over the transport produced (stdout goes line by line to the caller). */
export interface ExecOutcome {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
}

/** File facts the bootstrap needs. */
export interface RemoteStat {
  readonly size: number;
  readonly isDirectory: boolean;
}

/**
 * The narrow transport the agent client needs from one VM: exec with stdin and streamed stdout
 * lines, and a handful of SFTP file operations. Implemented over ssh2 (ssh-transport.ts).
 */
export interface AgentTransport {
  /**
   * Runs `command` and writes `stdin`, keeping stdin open until the command ends (an agent run
   * with --cancel-on-eof reads that as "still wanted"); resolves when the channel closes.
   * After `timeoutMs` it closes the channel and rejects with AgentTimeoutError.
   */
  exec(command: string, stdin: string, onStdoutLine: (line: string) => void, timeoutMs: number): Promise<ExecOutcome>;
  /** undefined when nothing is at `path`. */
  stat(path: string): Promise<RemoteStat | undefined>;
  /** Creates `path` and its missing parents. */
  mkdirp(path: string): Promise<void>;
  writeFile(path: string, data: Buffer, mode: number): Promise<void>;
  /** Renames onto a path that does not exist yet. */
  rename(from: string, to: string): Promise<void>;
  /** undefined when `path` is not a symlink. */
  readlink(path: string): Promise<string | undefined>;
  /** Removes a file or symlink; absent is fine. */
  unlink(path: string): Promise<void>;
  /** Whether the connection has closed (a pool then reconnects). */
  readonly closed: boolean;
  close(): void;
}
