import Table from 'cli-table3';
import type { Writable } from 'node:stream';
import { DirectorError } from '../errors.js';

/** A listing as bosh-cli prints it: aligned columns, then a count line; or its JSON shape. */
export interface Listing {
  /** What the rows are (`vms`, `stemcells`...), used in the count line and JSON `Content`. */
  readonly content: string;
  /** Column key → header. */
  readonly header: readonly (readonly [key: string, title: string])[];
  readonly rows: readonly Readonly<Record<string, string>>[];
  /** What the count line counts when it is not the rows (`instances --ps`: instances, not process rows). */
  readonly count?: number;
  /** A title line above the table (`Deployment 'my-cluster'`). */
  readonly title?: string;
  readonly notes?: readonly string[];
}

/**
 * A time as bosh-cli prints every time in its tables (Go's UnixDate, `Mon Jan _2 15:04:05 MST
 * 2006`): `Mon Dec  7 23:22:06 UTC 2026`. A value that is not a time is shown as it is.
 */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const [weekday, dd, mon, yyyy, hms] = d.toUTCString().replace(',', '').split(' ') as [
    string,
    string,
    string,
    string,
    string,
  ];
  return `${weekday} ${mon} ${String(Number(dd)).padStart(2, ' ')} ${hms} UTC ${yyyy}`;
}

const NO_BORDER = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

export function renderTable(l: Listing): string {
  const t = new Table({
    head: l.header.map(([, title]) => title),
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of l.rows) t.push(l.header.map(([key]) => r[key] ?? ''));
  const body = t
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
  return `${l.title ? `${l.title}\n\n` : ''}${body}\n\n${l.count ?? l.rows.length} ${l.content}\n${(l.notes ?? []).map((n) => `\n${n}`).join('')}`;
}

/** bosh-cli's `--json` shape: {Tables: [{Content, Header, Rows, Notes}], Blocks, Lines}. */
export function listingsJson(ls: readonly Listing[], lines: readonly string[] = []): string {
  return `${JSON.stringify(
    {
      Tables: ls.map((l) => ({
        Content: l.content,
        Header: Object.fromEntries(l.header),
        Rows: l.rows,
        Notes: l.notes ?? [],
      })),
      Blocks: [],
      Lines: lines,
    },
    null,
    4,
  )}\n`;
}

/** How a listing is printed: bosh-cli's `--json` and `--column` (repeatable). */
export interface ListingOptions {
  readonly json?: boolean | undefined;
  readonly column?: readonly string[] | undefined;
}

const columnKey = (s: string) => s.toLowerCase().replace(/[\s_()-]+/g, '');

/**
 * The listing with only the columns named (`--column Instance --column 'Process State'`), in
 * the listing's order, as bosh-cli matches them: by header, ignoring case and spacing. A column
 * the listing does not have is an error naming the ones it has.
 */
export function selectColumns(l: Listing, columns: readonly string[] | undefined): Listing {
  if (!columns?.length) return l;
  const wanted = columns.map(columnKey);
  for (const [i, c] of wanted.entries()) {
    if (!l.header.some(([key, title]) => columnKey(title) === c || columnKey(key) === c)) {
      throw new DirectorError(
        `Unknown column '${columns[i]}' (columns of ${l.content}: ${l.header.map(([, t]) => `'${t}'`).join(', ')})`,
      );
    }
  }
  const header = l.header.filter(
    ([key, title]) => wanted.includes(columnKey(title)) || wanted.includes(columnKey(key)),
  );
  return { ...l, header, rows: l.rows.map((r) => Object.fromEntries(header.map(([key]) => [key, r[key] ?? '']))) };
}

export function printListings(out: Writable, ls: readonly Listing[], opts: boolean | ListingOptions): void {
  const o: ListingOptions = typeof opts === 'boolean' ? { json: opts } : opts;
  const shown = ls.map((l) => selectColumns(l, o.column));
  if (o.json) out.write(listingsJson(shown, ['Succeeded']));
  else out.write(`${shown.map(renderTable).join('\n')}\nSucceeded\n`);
}
