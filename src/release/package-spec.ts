import { z } from 'zod';
import type { Plain } from '../manifest/value.js';
import { problemsFromZod, type Problem } from '../plan/validation.js';

/**
 * A package definition (`packages/<name>/spec.yml`). A package's content is either `files`, a
 * folder of the release, or `sources`, upstream artifacts pinned by sha256 and fetched once
 * into the blobstore (a source with neither sha256 nor sha512 is never downloaded: nothing could
 * verify it). `fallback` names a folder of the release used when a source can be neither
 * fetched nor found in the local sources folder (e.g. a wrapper around a system binary).
 */
export interface PackageSpec {
  readonly name: string;
  readonly dependencies: readonly string[];
  /** Folder relative to the package's directory. */
  readonly files?: string;
  readonly sources: readonly PackageSource[];
  /** Folder relative to the package's directory. */
  readonly fallback?: string;
  readonly description: string;
}

export interface PackageSource {
  readonly url: string;
  /** Lowercase hex sha256 of the artifact (its blob id). */
  readonly sha256?: string;
  /** Lowercase hex sha512, for artifacts whose publishers list only that (Kubernetes). */
  readonly sha512?: string;
  /** The artifact's file name (default: the URL's last segment); how it is found offline. */
  readonly file: string;
}

const relFolder = z
  .string()
  .min(1)
  .refine((s) => !s.startsWith('/') && !s.split('/').includes('..'), 'must be a folder inside the package directory');

const schema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    dependencies: z.array(z.string().min(1)).default([]),
    files: relFolder.optional(),
    sources: z
      .array(
        z.object({
          url: z.string().url(),
          sha256: z
            .string()
            .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
            .optional(),
          sha512: z
            .string()
            .regex(/^[0-9a-f]{128}$/, 'must be 128 lowercase hex digits')
            .optional(),
          file: z
            .string()
            .regex(/^[^/]+$/)
            .optional(),
        }),
      )
      .default([]),
    fallback: relFolder.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.files === undefined) === (s.sources.length === 0))
      ctx.addIssue({ code: 'custom', path: [], message: "exactly one of 'files' or 'sources' is required" });
    s.sources.forEach((x, i) => {
      if (x.sha256 === undefined && x.sha512 === undefined && s.fallback === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i],
          message: 'a source without sha256 or sha512 is never fetched, so the package needs a fallback',
        });
    });
    if (s.fallback !== undefined && s.sources.length === 0)
      ctx.addIssue({ code: 'custom', path: ['fallback'], message: "only packages with 'sources' have a fallback" });
  });

/** Validates a parsed package spec; returns the spec or the problems (paths inside the file). */
export function parsePackageSpec(doc: Plain): { spec?: PackageSpec; problems: Problem[] } {
  const r = schema.safeParse(doc ?? {});
  if (!r.success) return { problems: problemsFromZod(r.error.issues) };
  const s = r.data;
  return {
    problems: [],
    spec: {
      name: s.name,
      description: s.description,
      dependencies: s.dependencies,
      ...(s.files !== undefined ? { files: s.files } : {}),
      sources: s.sources.map((x) => ({
        url: x.url,
        ...(x.sha256 ? { sha256: x.sha256 } : {}),
        ...(x.sha512 ? { sha512: x.sha512 } : {}),
        file: x.file ?? decodeURIComponent(new URL(x.url).pathname.split('/').pop() || 'source'),
      })),
      ...(s.fallback !== undefined ? { fallback: s.fallback } : {}),
    },
  };
}
