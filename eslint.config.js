// Lint rules: typescript-eslint's recommended set, plus the project's manners from STYLE.md
// (import type, no default exports outside config files).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Import boundaries (STYLE.md, habit 6): only the files that implement a port import the library
// behind it. Each boundary names the package and the files allowed to import it; every other
// file of the director, the CPIs and the agent is refused it. Tests and benches may reach any
// library (the ARM fake's tests drive the Azure SDK against it).
const boundaries = [
  {
    name: 'better-sqlite3',
    allowed: ['src/state/**'],
    message: 'SQLite belongs to the state store: use the StateStore port (src/state/index.ts).',
  },
  {
    name: 'ssh2',
    // the agent client, the local CPI's SSH server, and the key codec both sides share
    allowed: ['src/agent-client/**', 'cpi/local/ssh-server.ts', 'cpi/local/sftp-server.ts', 'src/crypto/ssh-keys.ts'],
    message: "SSH belongs to the agent client (src/agent-client) and the local CPI's SSH server.",
  },
  {
    name: 'pg',
    allowed: ['src/state/postgres/**'],
    message:
      'node-postgres belongs to the PostgreSQL state store (its worker, src/state/postgres): use the StateStore port.',
  },
  {
    group: '@azure/*',
    // the Azure CPI, and the blobstore's Azure Blob adapter (its worker thread)
    allowed: ['cpi/azure/**', 'src/release/azure-blob-worker.ts'],
    message:
      'The Azure SDK belongs to the Azure CPI (cpi/azure) and the Azure blobstore (src/release/azure-blob-worker.ts).',
  },
  {
    group: '**/cpi/local/**',
    // the composition root picks the environment's CPI adapter; the rest of the director sees the ports
    allowed: ['cpi/**', 'src/cli/context.ts'],
    message:
      'The director uses the CPI ports (cpi/contract.ts, cpi/environment.ts); the composition root (src/cli/context.ts) builds the adapter.',
  },
  {
    group: '**/cpi/azure/**',
    allowed: ['cpi/**', 'src/cli/context.ts'],
    message:
      'The director uses the CPI ports (cpi/contract.ts, cpi/environment.ts); the composition root (src/cli/context.ts) builds the adapter.',
  },
];
const production = ['src/**/*.ts', 'cpi/**/*.ts', 'agent/**/*.ts'];
const restrictions = (bs) => {
  const paths = bs.filter((b) => b.name).map((b) => ({ name: b.name, message: b.message }));
  const patterns = bs.filter((b) => b.group).map((b) => ({ group: [b.group], message: b.message }));
  return { 'no-restricted-imports': ['error', { paths, patterns }] };
};
// One config object per allowed glob, general before specific: the rule's options do not merge
// across objects, the last matching one wins, so each carries every restriction for its files.
const covers = (a, glob) => a === glob || (a.endsWith('**') && glob.startsWith(a.slice(0, -2)));
const boundaryConfigs = [
  { files: production, ignores: boundaries.flatMap((b) => b.allowed), rules: restrictions(boundaries) },
  ...[...new Set(boundaries.flatMap((b) => b.allowed))]
    .sort((a, b) => a.length - b.length)
    .map((glob) => ({
      files: [glob.endsWith('**') ? `${glob}/*.ts` : glob],
      rules: restrictions(boundaries.filter((b) => !b.allowed.some((a) => covers(a, glob)))),
    })),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Named exports only.' }],
    },
  },
  ...boundaryConfigs,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
  },
);
