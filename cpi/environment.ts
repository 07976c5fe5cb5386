import type { Cpi } from './contract.js';

/** What one `ensureFoundation` run did, by cloud id. */
export interface FoundationOutcome {
  /** Resources this run created: create-env records them so delete-env removes exactly those. */
  readonly created: readonly string[];
  /** Resources that existed but differed and were written again. */
  readonly updated: readonly string[];
}

/**
 * A CPI as the environment uses it: the contract, plus what the director needs beyond BOSH's
 * CPI v2 to keep its promise that a crash leaks nothing (find by the names it chose) and that
 * delete-env removes everything.
 */
export interface EnvironmentCpi {
  readonly cpi: Cpi;
  /** The port agents' SSH servers listen on. */
  readonly sshPort: number;
  /** A VM created for `agentId` that the state never recorded (a crash between call and answer). */
  findVmByAgentId(agentId: string): Promise<string | undefined>;
  /** A stemcell already registered under this name and version (an interrupted create-env). */
  findStemcell(name: string, version: string): Promise<string | undefined>;
  /**
   * Makes the IaaS foundation the environment needs exist (Azure: resource group, network,
   * security groups, load balancers, storage), reading before writing, so a run over an unchanged
   * foundation writes nothing. Absent when the CPI needs none. A failure carries `created`
   * (the ids made before it failed), to be recorded all the same.
   */
  readonly ensureFoundation?: (onIntent?: (id: string) => void) => Promise<FoundationOutcome>;
  /** Removes everything the CPI made for the environment (delete-env), foundation last. */
  teardown(): Promise<void>;
}
