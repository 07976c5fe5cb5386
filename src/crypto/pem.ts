/** One PEM block, as Go's pem.EncodeToMemory writes it: 64-character lines, trailing newline. */
export function pemEncode(type: string, der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}-----END ${type}-----\n`;
}

/** The first PEM block of `text` (its type and bytes), or undefined when there is none. */
export function pemDecode(text: string): { readonly type: string; readonly der: Buffer } | undefined {
  const m = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (m === null) return undefined;
  const body = (m[2] ?? '').split(/\r?\n/).filter((l) => l.length > 0 && !l.includes(':'));
  return { type: m[1] ?? '', der: Buffer.from(body.join(''), 'base64') };
}
