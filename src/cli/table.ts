import Table from 'cli-table3';
import type { Writable } from 'node:stream';

/** A listing as bosh-cli prints it: aligned columns, then a count line; or its JSON shape. */
export interface Listing {
  /** What the rows are (`vms`, `stemcells`...), used in the count line and JSON `Content`. */
  readonly content: string;
  /** Column key → header. */
  readonly header: readonly (readonly [key: string, title: string])[];
  readonly rows: readonly Readonly<Record<string, string>>[];
  /** A title line above the table (`Deployment 'my-cluster'`). */
  readonly title?: string;
  readonly notes?: readonly string[];
}

const NO_BORDER = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

export function renderTable(l: Listing): string {
  const t = new Table({ head: l.header.map(([, title]) => title), chars: NO_BORDER, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 } });
  for (const r of l.rows) t.push(l.header.map(([key]) => r[key] ?? ''));
  const body = t.toString().split('\n').map((line) => line.trimEnd()).join('\n');
  return `${l.title ? `${l.title}\n\n` : ''}${body}\n\n${l.rows.length} ${l.content}\n${(l.notes ?? []).map((n) => `\n${n}`).join('')}`;
}

/** bosh-cli's `--json` shape: {Tables: [{Content, Header, Rows, Notes}], Blocks, Lines}. */
export function listingsJson(ls: readonly Listing[], lines: readonly string[] = []): string {
  return `${JSON.stringify(
    {
      Tables: ls.map((l) => ({ Content: l.content, Header: Object.fromEntries(l.header), Rows: l.rows, Notes: l.notes ?? [] })),
      Blocks: [],
      Lines: lines,
    },
    null,
    4,
  )}\n`;
}

export function printListings(out: Writable, ls: readonly Listing[], json: boolean): void {
  if (json) out.write(listingsJson(ls, ['Succeeded']));
  else out.write(`${ls.map(renderTable).join('\n')}\nSucceeded\n`);
}
