// The blobstore in an Azure Blob container (Azurite): content-addressed, shared by two
// directors with caches of their own, verified by digest on every read.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { openAzureBlobstore, sha256 } from '../../src/release/blobstore.js';
import type { AzureBlobSetup } from '../../src/release/azure-blob-protocol.js';
import { startAzurite } from '../helpers/azurite.js';

describe('blobstore in an Azure Blob container', () => {
  const account = 'teamblobs';
  const keys = { key1: randomBytes(32).toString('base64'), key2: randomBytes(32).toString('base64') };
  let azurite: { url: string; stop: () => Promise<void> };
  let setup: AzureBlobSetup;
  let container: ContainerClient;
  let dir: string;
  before(async () => {
    azurite = await startAzurite(account, keys);
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${keys.key1};BlobEndpoint=${azurite.url};`;
    setup = { container: 'director-blobs', account: { connectionString } };
    container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient('director-blobs');
    dir = mkdtempSync(join(tmpdir(), 'director-azblobs-'));
  });
  after(async () => {
    await azurite.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores blobs by sha256 in the container, for another director with an empty cache to read', async () => {
    const mine = openAzureBlobstore(join(dir, 'a'), setup);
    const theirs = openAzureBlobstore(join(dir, 'b'), setup);
    try {
      const data = Buffer.from('package tarball bytes');
      const id = mine.put(data);
      assert.equal(id, sha256(data));
      const names: string[] = [];
      for await (const b of container.listBlobsFlat()) names.push(b.name);
      assert.deepEqual(names, [id]);
      assert.equal(theirs.has(id), true);
      assert.deepEqual(theirs.get(id), data);
      assert.equal(mine.put(data), id); // the same content again: nothing new
      assert.equal(theirs.has(sha256('absent')), false);
      mine.setAlias('sha512-abc', id);
      assert.equal(theirs.alias('sha512-abc'), id);
      assert.equal(theirs.alias('sha512-none'), undefined);
    } finally {
      mine.close();
      theirs.close();
    }
  });

  it('refuses a blob whose content does not match its digest, in the container or in the cache', async () => {
    const writer = openAzureBlobstore(join(dir, 'w'), setup);
    const id = writer.put(Buffer.from('the real content'));
    writer.close();
    // Someone overwrites the container's blob: a reader with an empty cache refuses it.
    await container.getBlockBlobClient(id).upload('tampered', 8);
    const reader = openAzureBlobstore(join(dir, 'r'), setup);
    try {
      assert.throws(() => reader.get(id), {
        message: `Reading blob ${id} from Azure Blob container 'director-blobs': content does not match its sha256 (corrupted)`,
      });
      // And a cache file changed on disk is refused too.
      const good = reader.put(Buffer.from('cached content'));
      writeFileSync(reader.path(good), 'changed on disk');
      assert.throws(() => reader.get(good), /content does not match its sha256 \(corrupted\)/);
    } finally {
      reader.close();
    }
  });
});
