import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFull, stringifyYaml } from '../../../src/manifest/yaml.js';
import { UNSUPPORTED, fastDeclinedAt, parseFast } from '../../../src/manifest/yaml-fast.js';
import { deepEqual } from '../../../src/manifest/value.js';
import type { YamlValue } from '../../../src/manifest/value.js';

// The fast reader must either decline or answer exactly what the full reader answers, which in
// turn is what yaml.v2 answers. Each row: an input the fast reader must handle, and what
// yaml.v2 v2.4.0 printed for yaml.Marshal(yaml.Unmarshal(input)) (pinned by running it).
const HANDLED: [string, string][] = [
  ['a: |\n  line 1\n  line 2\nb: 1\n', 'a: |\n  line 1\n  line 2\nb: 1\n'],
  ['a: |-\n  x\n\n\nb: 1\n', 'a: x\nb: 1\n'],
  ['a: |+\n  x\n\n\nb: 1\n', 'a: |+\n  x\n\n\nb: 1\n'],
  ['a: |\n  x\n\n  y\n\nb: 1\n', 'a: |\n  x\n\n  y\nb: 1\n'],
  ['a: |\n\n  after empty\n', 'a: |2\n\n  after empty\n'],
  ['a: |\n  x\n    indented more\n  \n  back\n', 'a: |\n  x\n    indented more\n\n  back\n'],
  ['- |\n  in a sequence\n- |-\n  stripped\n', '- |\n  in a sequence\n- stripped\n'],
  ['a: |\n  # not a comment\n  x\n', 'a: |\n  # not a comment\n  x\n'],
  ['a: |  # comment\n  x\n', 'a: |\n  x\n'],
  ['a: |\n  x', 'a: x\n'],
  ['a: |+\n  x', 'a: x\n'],
  [
    'description: a long\n  plain scalar folded\n  over lines\nnext: 1\n',
    'description: a long plain scalar folded over lines\nnext: 1\n',
  ],
  ['a: one\n\n  two\n\n\n  three\n', 'a: |-\n  one\n  two\n\n  three\n'],
  ['- first\n  continued\n- second\n', '- first continued\n- second\n'],
  ['a: x # comment\n  # deeper comment\nb: y\n', 'a: x\nb: true\n'],
  ['defaults: &d\n  x: 1\n  z: 1\nm:\n  <<: *d\n  z: 2\n', 'defaults:\n  x: 1\n  z: 1\nm:\n  x: 1\n  z: 2\n'],
  ['a: &a [1, 2]\nb: *a\nc: &c text\nd: *c\n', 'a:\n- 1\n- 2\nb:\n- 1\n- 2\nc: text\nd: text\n'],
  ['a: &m\n  k: v\nb: *m\n', 'a:\n  k: v\nb:\n  k: v\n'],
  ['a: [x, \'single\', "double", [nested], {k: v}]\n', 'a:\n- x\n- single\n- double\n- - nested\n- k: v\n'],
  ['a: {k1: v1, k2: [1, 2], k3: {x: y}}\n', 'a:\n  k1: v1\n  k2:\n  - 1\n  - 2\n  k3:\n    x: true\n'],
  ['a: []\nb: {}\nc: [ ]\n', 'a: []\nb: {}\nc: []\n'],
  ['key:\n- indentless\n- sequence\nnext: 1\n', 'key:\n- indentless\n- sequence\nnext: 1\n'],
  ['- name: compact\n  value: map\n- - nested\n  - seq\n', '- name: compact\n  value: map\n- - nested\n  - seq\n'],
  ['a:\n  b:\n    c: deep\n  d: e\nf: g\n', 'a:\n  b:\n    c: deep\n  d: e\nf: g\n'],
  ['# leading comment\n\n---\na: 1\n', 'a: 1\n'],
  ['a: 1\n...\nignored: [\n', 'a: 1\n'],
  ['a: 1\n---\nb: 2\n', 'a: 1\n'],
  ['\'quoted key\': 1\n"dq key": 2\nyes: 3\n~: 4\n1.5: 5\n', 'true: 3\n1.5: 5\nnull: 4\ndq key: 2\nquoted key: 1\n'],
  [
    "a: 'it''s'\nb: \"tab\\there \\\"q\\\"\"\nc: 'a # not comment'\n",
    'a: it\'s\nb: "tab\\there \\"q\\""\nc: \'a # not comment\'\n',
  ],
  ['url: http://example.com:8080/path?q=1#frag\n', 'url: http://example.com:8080/path?q=1#frag\n'],
  ['a:\n  - x\n  - y\n', 'a:\n- x\n- true\n'],
  ['a:   \n  b: 1\n', 'a:\n  b: 1\n'],
  ['a:\n  plain on its own line\nb: 1\n', 'a: plain on its own line\nb: 1\n'],
  ['a: ((var))((other))\nb: ((var.key))\n', 'a: ((var))((other))\nb: ((var.key))\n'],
  ['top: value with  two spaces  \n', 'top: value with  two spaces\n'],
  ['-\n  a: 1\n-\n- x\n', '- a: 1\n- null\n- x\n'],
  ['a: -1\nb: -x\nc: :x\nd: ?x\n', 'a: -1\nb: -x\nc: :x\nd: ?x\n'],
  ['a:\n\nb:\n', 'a: null\nb: null\n'],
  ['k: v\n   # comment deeper than the key\nl: w\n', 'k: v\nl: w\n'],
];

// Inputs outside the fast reader's subset (or malformed): the full reader decides.
const DECLINED: string[] = [
  'a: !!str 1\n',
  'a: >\n  folded\n',
  '? complex\n: key\n',
  'a:\n\tb: 1\n',
  'a: 1\r\nb: 2\r\n',
  'a: "multi\n  line"\n',
  'a: |2\n   x\n',
  '%YAML 1.1\n---\na: 1\n',
  'a: [1,\n  2]\n',
  'a: b: c\n',
  'a: *undefined\n',
  'a: &x [*x]\n',
  '- a\nb: 1\n',
  "a: 'unclosed\n",
  'a: "\\x41"\n',
  '<<: 1\n',
  'a: |\n    deeper\n  less\n',
];

describe('fast reader: handles the manifest subset exactly as yaml.v2 reads it', () => {
  for (const [input, marshalled] of HANDLED) {
    it(JSON.stringify(input), () => {
      const fast = parseFast(input);
      assert.notEqual(fast, UNSUPPORTED, `declined at line ${String(fastDeclinedAt(input))}`);
      assert.equal(stringifyYaml(fast as YamlValue), marshalled);
      assert.ok(deepEqual(fast as YamlValue, parseFull(input, 'case.yml')), 'the full reader reads it differently');
    });
  }
});

describe('fast reader: declines what it does not handle', () => {
  for (const input of DECLINED) {
    it(JSON.stringify(input), () => {
      assert.equal(parseFast(input), UNSUPPORTED);
    });
  }
});

describe('fast reader: agrees with the full reader on generated documents', () => {
  let seed = 11;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
  const VALUES = [
    'a',
    'b c',
    'yes',
    '1',
    '0755',
    '50_000',
    '~',
    '',
    "'q'",
    '"d q"',
    "'it''s'",
    '"a\\"b"',
    'a #c',
    'a#b',
    '-x',
    '[x, y]',
    '[]',
    '{}',
    '{k: v}',
    '{k: [1, "2"]}',
    '((var))',
    'http://x:80/y',
    '*a1',
    '&a1 v',
    '|',
    '|-',
    '|+',
    '>',
    '!!str 1',
    '1:20',
    'a: b',
    '- x',
    '@x',
    'x:',
    '[a',
    'a  ',
    '- - x',
    '# c',
  ];
  const KEYS = ['a', 'b', 'yes', '1', '"q"', "'s'", '<<', 'k k', '~', 'a:b', '-k', '? k', 'name'];
  const block = (depth: number, indent: number, lines: string[]): void => {
    const sp = ' '.repeat(indent);
    const asSeq = rnd() < 0.4;
    const n = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < n; i++) {
      const r = rnd();
      const head = asSeq ? `${sp}-` : `${sp}${pick(KEYS)}:`;
      if (r < 0.05) lines.push(pick(['', '  ', '# comment', `${sp}  # deeper`, '---', '...']));
      if (depth < 3 && r < 0.35) {
        lines.push(head + pick(['', ' ', ' # c', ' &a1']));
        block(depth + 1, indent + (asSeq ? 2 : pick([0, 2, 2, 4, 1])), lines);
      } else if (asSeq && depth < 3 && r < 0.5) {
        lines.push(`${sp}- ${pick(KEYS)}: ${pick(VALUES)}`);
        if (rnd() < 0.7) lines.push(`${sp}  ${pick(KEYS)}: ${pick(VALUES)}`);
      } else {
        const v = pick(VALUES);
        lines.push(`${head} ${v}`);
        if (v.startsWith('|')) {
          for (let j = 0; j < 1 + Math.floor(rnd() * 3); j++)
            lines.push(pick([`${sp}  text ${j}`, '', `${sp}    deeper`, `${sp}  `]));
        } else if (rnd() < 0.15) {
          lines.push(`${sp}${pick(['  continued', ' x', '    more: z', '  # not', ''])}`);
        }
      }
    }
  };
  it('on 600 documents: whenever the fast reader answers, the full reader answers the same', () => {
    let answered = 0;
    for (let k = 0; k < 600; k++) {
      const lines: string[] = [];
      block(0, 0, lines);
      const text = lines.join('\n') + (rnd() < 0.8 ? '\n' : '');
      const fast = parseFast(text);
      if (fast === UNSUPPORTED) continue;
      answered++;
      let full: YamlValue;
      try {
        full = parseFull(text, 'generated.yml');
      } catch (e) {
        assert.fail(`fast reader accepted what the full reader rejects (${(e as Error).message}):\n${text}`);
      }
      assert.ok(deepEqual(fast, full), `readers differ on:\n${text}`);
    }
    assert.ok(answered > 150, `the fast reader answered only ${answered} documents`);
  });
});
