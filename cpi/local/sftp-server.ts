import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';

const { STATUS_CODE } = ssh2.utils.sftp;

type Handle =
  | { readonly kind: 'file'; readonly file: fs.FileHandle }
  | { readonly kind: 'dir'; readonly path: string; done: boolean };

/** The chroot view of an SFTP path: '/' is the VM root, relative paths start there, `..` stops at it. */
export function chrootPath(root: string, path: string): { readonly real: string; readonly virtual: string } {
  const virtual = posix.normalize('/' + path);
  return { real: join(root, virtual), virtual };
}

function attrsOf(st: Stats): Attributes {
  return {
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

function longname(name: string, st: Stats): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '-';
  const bits = 'rwxrwxrwx'
    .split('')
    .map((c, i) => (st.mode & (0o400 >> i) ? c : '-'))
    .join('');
  const date = new Date(st.mtimeMs).toISOString().slice(0, 16).replace('T', ' ');
  return `${type}${bits} 1 ${st.uid} ${st.gid} ${st.size} ${date} ${name}`;
}

function statusOf(err: unknown): number {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return STATUS_CODE.NO_SUCH_FILE;
    case 'EACCES':
    case 'EPERM':
      return STATUS_CODE.PERMISSION_DENIED;
    default:
      return STATUS_CODE.FAILURE;
  }
}

async function applyAttrs(target: string | fs.FileHandle, attrs: Partial<Attributes>): Promise<void> {
  const isHandle = typeof target !== 'string';
  if (typeof attrs.size === 'number') {
    if (isHandle) await target.truncate(attrs.size);
    else await fs.truncate(target, attrs.size);
  }
  if (typeof attrs.mode === 'number') {
    if (isHandle) await target.chmod(attrs.mode & 0o7777);
    else await fs.chmod(target, attrs.mode & 0o7777);
  }
  if (typeof attrs.atime === 'number' && typeof attrs.mtime === 'number') {
    if (isHandle) await target.utimes(attrs.atime, attrs.mtime);
    else await fs.utimes(target, attrs.atime, attrs.mtime);
  }
}

/**
 * Serves one SFTP session chrooted to `root`: open/read/write/close, stat/lstat/fstat,
 * setstat/fsetstat, opendir/readdir, mkdir, rmdir, remove, rename (replacing, like
 * posix-rename), realpath, readlink, symlink.
 */
export function serveSftp(sftp: SFTPWrapper, root: string): void {
  const handles = new Map<number, Handle>();
  let nextHandle = 1;
  const real = (p: string): string => chrootPath(root, p).real;
  const newHandle = (h: Handle): Buffer => {
    const id = nextHandle++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id);
    return buf;
  };
  const handleOf = (buf: Buffer): [number, Handle | undefined] => {
    const id = buf.length === 4 ? buf.readUInt32BE(0) : -1;
    return [id, handles.get(id)];
  };
  const run = (reqId: number, work: () => Promise<void>): void => {
    work().catch((err: unknown) => sftp.status(reqId, statusOf(err), (err as Error).message?.replace(root, '')));
  };
  const ok = (reqId: number) => sftp.status(reqId, STATUS_CODE.OK);
  const badHandle = (reqId: number) => sftp.status(reqId, STATUS_CODE.FAILURE, 'invalid handle');

  sftp.on('OPEN', (reqId: number, filename: string, flags: number, attrs: Attributes) =>
    run(reqId, async () => {
      const mode = ssh2.utils.sftp.flagsToString(flags);
      if (mode === null) return void sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED, 'unsupported open flags');
      const file = await fs.open(real(filename), mode, typeof attrs?.mode === 'number' ? attrs.mode & 0o7777 : 0o644);
      sftp.handle(reqId, newHandle({ kind: 'file', file }));
    }),
  );
  sftp.on('READ', (reqId: number, handle: Buffer, offset: number, len: number) =>
    run(reqId, async () => {
      const [, h] = handleOf(handle);
      if (h?.kind !== 'file') return badHandle(reqId);
      const buf = Buffer.alloc(len);
      const { bytesRead } = await h.file.read(buf, 0, len, offset);
      if (bytesRead === 0) sftp.status(reqId, STATUS_CODE.EOF);
      else sftp.data(reqId, buf.subarray(0, bytesRead));
    }),
  );
  sftp.on('WRITE', (reqId: number, handle: Buffer, offset: number, data: Buffer) =>
    run(reqId, async () => {
      const [, h] = handleOf(handle);
      if (h?.kind !== 'file') return badHandle(reqId);
      let written = 0;
      while (written < data.length) {
        const r = await h.file.write(data, written, data.length - written, offset + written);
        written += r.bytesWritten;
      }
      ok(reqId);
    }),
  );
  sftp.on('FSTAT', (reqId: number, handle: Buffer) =>
    run(reqId, async () => {
      const [, h] = handleOf(handle);
      if (h === undefined) return badHandle(reqId);
      sftp.attrs(reqId, attrsOf(h.kind === 'file' ? await h.file.stat() : await fs.stat(h.path)));
    }),
  );
  sftp.on('FSETSTAT', (reqId: number, handle: Buffer, attrs: Attributes) =>
    run(reqId, async () => {
      const [, h] = handleOf(handle);
      if (h === undefined) return badHandle(reqId);
      await applyAttrs(h.kind === 'file' ? h.file : h.path, attrs);
      ok(reqId);
    }),
  );
  sftp.on('CLOSE', (reqId: number, handle: Buffer) =>
    run(reqId, async () => {
      const [id, h] = handleOf(handle);
      if (h === undefined) return badHandle(reqId);
      handles.delete(id);
      if (h.kind === 'file') await h.file.close();
      ok(reqId);
    }),
  );
  sftp.on('OPENDIR', (reqId: number, path: string) =>
    run(reqId, async () => {
      const dir = real(path);
      const st = await fs.stat(dir);
      if (!st.isDirectory())
        return void sftp.status(reqId, STATUS_CODE.FAILURE, `not a directory: ${chrootPath(root, path).virtual}`);
      sftp.handle(reqId, newHandle({ kind: 'dir', path: dir, done: false }));
    }),
  );
  sftp.on('READDIR', (reqId: number, handle: Buffer) =>
    run(reqId, async () => {
      const [, h] = handleOf(handle);
      if (h?.kind !== 'dir') return badHandle(reqId);
      if (h.done) return void sftp.status(reqId, STATUS_CODE.EOF);
      h.done = true;
      const names: FileEntry[] = [];
      for (const name of ['.', '..', ...(await fs.readdir(h.path))]) {
        try {
          const st = await fs.lstat(join(h.path, name));
          names.push({ filename: name, longname: longname(name, st), attrs: attrsOf(st) });
        } catch {
          // vanished meanwhile
        }
      }
      sftp.name(reqId, names);
    }),
  );
  const statWith = (lstat: boolean) => (reqId: number, path: string) =>
    run(reqId, async () => sftp.attrs(reqId, attrsOf(lstat ? await fs.lstat(real(path)) : await fs.stat(real(path)))));
  sftp.on('STAT', statWith(false));
  sftp.on('LSTAT', statWith(true));
  sftp.on('SETSTAT', (reqId: number, path: string, attrs: Attributes) =>
    run(reqId, async () => {
      await applyAttrs(real(path), attrs);
      ok(reqId);
    }),
  );
  sftp.on('REMOVE', (reqId: number, path: string) =>
    run(reqId, async () => void (await fs.unlink(real(path)), ok(reqId))),
  );
  sftp.on('RMDIR', (reqId: number, path: string) =>
    run(reqId, async () => void (await fs.rmdir(real(path)), ok(reqId))),
  );
  sftp.on('MKDIR', (reqId: number, path: string, attrs: Attributes) =>
    run(reqId, async () => {
      await fs.mkdir(real(path), typeof attrs?.mode === 'number' ? attrs.mode & 0o7777 : 0o755);
      ok(reqId);
    }),
  );
  sftp.on('RENAME', (reqId: number, from: string, to: string) =>
    run(reqId, async () => void (await fs.rename(real(from), real(to)), ok(reqId))),
  );
  sftp.on('REALPATH', (reqId: number, path: string) => {
    const { virtual } = chrootPath(root, path);
    sftp.name(reqId, [{ filename: virtual, longname: virtual, attrs: {} as Attributes }]);
  });
  sftp.on('READLINK', (reqId: number, path: string) =>
    run(reqId, async () => {
      const target = await fs.readlink(real(path));
      sftp.name(reqId, [{ filename: target, longname: target, attrs: {} as Attributes }]);
    }),
  );
  // ssh2 hands the link path first, then its target (for OpenSSH clients and ssh2's own alike).
  sftp.on('SYMLINK', (reqId: number, link: string, target: string) =>
    run(reqId, async () => void (await fs.symlink(target, real(link)), ok(reqId))),
  );
  sftp.on('EXTENDED', (reqId: number) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
  // The client is done (EOF): close our side too, or OpenSSH's sftp waits forever.
  sftp.on('end', () => sftp.end());
  sftp.on('close', () => {
    for (const h of handles.values()) if (h.kind === 'file') void h.file.close().catch(() => undefined);
    handles.clear();
  });
}
