import { open, stat } from 'node:fs/promises';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

/** Upload progress: bytes of the VHD handled so far (zero pages are skipped, not sent). */
export type UploadProgress = (done: number, total: number) => void;

/** Where a page blob goes: the account's blob endpoint and a key from `listKeys`. A secret. */
export interface BlobTarget {
  readonly blobEndpoint: string;
  readonly accountName: string;
  readonly accountKey: string;
  /** Extra tries of the storage pipeline (its own exponential retry policy). */
  readonly maxTries?: number;
}

const PAGE = 512;
const CHUNK = 4 * 1024 * 1024; // the largest Put Page

function blobService(t: BlobTarget): BlobServiceClient {
  return new BlobServiceClient(t.blobEndpoint, new StorageSharedKeyCredential(t.accountName, t.accountKey), {
    retryOptions: { maxTries: t.maxTries ?? 4, retryDelayInMs: 500, maxRetryDelayInMs: 10_000 },
  });
}

/** Creates blob containers that do not exist yet; returns those it created. */
export async function ensureContainers(t: BlobTarget, names: readonly string[]): Promise<string[]> {
  const svc = blobService(t);
  const created: string[] = [];
  for (const name of names) {
    const r = await svc.getContainerClient(name).createIfNotExists();
    if (r.succeeded) created.push(name);
  }
  return created;
}

/** Deletes a blob container if it exists. */
export async function deleteContainer(t: BlobTarget, name: string): Promise<void> {
  await blobService(t).getContainerClient(name).deleteIfExists();
}

/**
 * Uploads a VHD file as a page blob (Azure images are made from page blobs): the blob is sized
 * to the file rounded up to 512 bytes, and only chunks holding data are sent. Returns the blob URL.
 */
export async function uploadVhd(
  t: BlobTarget,
  container: string,
  blobName: string,
  file: string,
  onProgress?: UploadProgress,
): Promise<string> {
  const size = (await stat(file)).size;
  const blobSize = Math.ceil(size / PAGE) * PAGE;
  const svc = blobService(t);
  const containerClient = svc.getContainerClient(container);
  await containerClient.createIfNotExists();
  const blob = containerClient.getPageBlobClient(blobName);
  await blob.create(blobSize);
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let offset = 0; offset < blobSize; offset += CHUNK) {
      const want = Math.min(CHUNK, blobSize - offset);
      buf.fill(0, 0, want);
      await fh.read(buf, 0, Math.min(want, Math.max(0, size - offset)), offset);
      const chunk = buf.subarray(0, want);
      if (chunk.some((b) => b !== 0)) await blob.uploadPages(chunk, offset, want);
      onProgress?.(Math.min(offset + want, size), size);
    }
  } finally {
    await fh.close();
  }
  return blob.url;
}

/** Deletes a blob if it exists. */
export async function deleteBlob(t: BlobTarget, container: string, blobName: string): Promise<void> {
  await blobService(t).getContainerClient(container).getBlobClient(blobName).deleteIfExists();
}
