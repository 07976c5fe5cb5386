// The worker thread that holds an Azure Blob container client for the blobstore (see
// state/sync-worker.ts): the SDK only speaks promises, the blobstore port is synchronous.
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { serveSync } from '../state/sync-worker.js';
import type { AzureBlobRequest, AzureBlobSetup } from './azure-blob-protocol.js';

const setup = serveSync<AzureBlobSetup>(handle);

let container: ContainerClient | undefined;

function client(): ContainerClient {
  if (container !== undefined) return container;
  const a = setup.account;
  const service =
    a.connectionString !== undefined
      ? BlobServiceClient.fromConnectionString(a.connectionString)
      : new BlobServiceClient(
          a.url ?? `https://${a.name}.blob.core.windows.net`,
          new StorageSharedKeyCredential(a.name ?? '', a.key ?? ''),
        );
  container = service.getContainerClient(setup.container);
  return container;
}

async function handle(req: AzureBlobRequest): Promise<unknown> {
  const c = client();
  switch (req.op) {
    case 'open':
      await c.createIfNotExists();
      return null;
    case 'has':
      return c.getBlockBlobClient(req.name).exists();
    case 'upload':
      // Content-addressed: a blob already there under its digest is this very content.
      if (await c.getBlockBlobClient(req.name).exists()) return null;
      await c.getBlockBlobClient(req.name).uploadFile(req.file);
      return null;
    case 'download':
      await c.getBlockBlobClient(req.name).downloadToFile(req.file);
      return null;
    case 'putText':
      await c.getBlockBlobClient(req.name).upload(req.text, Buffer.byteLength(req.text));
      return null;
    case 'getText': {
      const b = c.getBlockBlobClient(req.name);
      if (!(await b.exists())) return null;
      return (await b.downloadToBuffer()).toString('utf8');
    }
  }
}
