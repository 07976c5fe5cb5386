/** What the Azure blobstore asks of its worker thread (azure-blob-worker.ts). */
export type AzureBlobRequest =
  | { readonly op: 'open' }
  | { readonly op: 'has'; readonly name: string }
  | { readonly op: 'upload'; readonly name: string; readonly file: string }
  | { readonly op: 'download'; readonly name: string; readonly file: string }
  | { readonly op: 'putText'; readonly name: string; readonly text: string }
  | { readonly op: 'getText'; readonly name: string };

/** The storage account (a connection string, or name + key [+ endpoint]) and the container. */
export interface AzureBlobSetup {
  readonly account: AzureBlobAccount;
  readonly container: string;
}

export interface AzureBlobAccount {
  /** $AZURE_STORAGE_CONNECTION_STRING (Azurite's included). */
  readonly connectionString?: string;
  /** $AZURE_STORAGE_ACCOUNT and $AZURE_STORAGE_KEY, the az CLI's names. */
  readonly name?: string;
  readonly key?: string;
  /** The blob endpoint; https://<name>.blob.core.windows.net by default. */
  readonly url?: string;
}
