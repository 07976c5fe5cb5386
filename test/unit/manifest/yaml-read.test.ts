import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseYaml, stringifyYaml, YamlSyntaxError } from '../../../src/manifest/yaml.js';
import { DirectorError } from '../../../src/errors.js';
import { deepEqual, ymap } from '../../../src/manifest/value.js';
import type { YamlValue } from '../../../src/manifest/value.js';

const read = (text: string): YamlValue => parseYaml(text, 'test.yml');
const scalar = (text: string): YamlValue => (read(`v: ${text}\n`) as Map<string, YamlValue>).get('v') as YamlValue;

// Each row: a plain scalar and what gopkg.in/yaml.v2 v2.4.0's Unmarshal into interface{} gave
// for `v: <scalar>` (pinned by running yaml.v2 itself).
const SCALARS: [string, YamlValue][] = [
  ['y', true],
  ['Y', true],
  ['yes', true],
  ['Yes', true],
  ['YES', true],
  ['yEs', 'yEs'],
  ['n', false],
  ['N', false],
  ['no', false],
  ['NO', false],
  ['on', true],
  ['On', true],
  ['ON', true],
  ['off', false],
  ['Off', false],
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['tRUE', 'tRUE'],
  ['false', false],
  ['False', false],
  ['FALSE', false],
  ['~', null],
  ['null', null],
  ['Null', null],
  ['NULL', null],
  ['nULL', 'nULL'],
  ['', null],
  ['50_000', 50000],
  ['1__0', 10],
  ['_1', '_1'],
  ['0755', 493],
  ['0o17', 15],
  ['0x1F', 31],
  ['-0x1F', -31],
  ['+12', 12],
  ['-12', -12],
  ['0', 0],
  ['0b1010', 10],
  ['-0b11', -3],
  ['08', 8],
  ['09.5', 9.5],
  ['1e3', 1000],
  ['1E3', 1000],
  ['1.5e-3', 0.0015],
  ['.5', 0.5],
  ['1.', 1],
  ['1_2.5', 12.5],
  ['3.0', 3],
  ['.inf', Infinity],
  ['.Inf', Infinity],
  ['+.INF', Infinity],
  ['-.Inf', -Infinity],
  ['.nan', NaN],
  ['.NaN', NaN],
  ['1:20', '1:20'],
  ['190:20:30', '190:20:30'],
  ['2001-12-14', '2001-12-14'],
  ['2001-12-14t21:59:43.10-05:00', '2001-12-14t21:59:43.10-05:00'],
  ['2001-13-14', '2001-13-14'],
  ['0x', '0x'],
  ['0b', '0b'],
  ['1e400', '1e400'],
  ['+', '+'],
  ['.', '.'],
  ['12e', '12e'],
  ['0.1.2', '0.1.2'],
  ['9007199254740991', 9007199254740991],
  ['18446744073709551616', 18446744073709551616],
  ['"12"', '12'],
  ["'null'", 'null'],
  ['"yes"', 'yes'],
  ['""', ''],
  ['!!str 12', '12'],
  ['!!int "12"', 12],
  ["!!int '0x1F'", 31],
  ['!!float 1', 1],
  ['!!bool yes', true],
  ['!!null ~', null],
  ['!!binary aGVsbG8=', 'hello'],
  ['!custom 12', '12'],
  ['! 12', '12'],
  ['|\n  line\n', 'line\n'],
  ['|-\n  line\n', 'line'],
  ['>\n  a\n  b\n', 'a b\n'],
  ['"a\\tb"', 'a\tb'],
];

describe('parseYaml: YAML 1.1 scalars as yaml.v2 resolves them', () => {
  for (const [text, want] of SCALARS) {
    it(`v: ${JSON.stringify(text)} → ${typeof want === 'number' ? String(want) : JSON.stringify(want)}`, () => {
      const got = scalar(text);
      assert.ok(deepEqual(got, want), `got ${String(got)} (${typeof got})`);
      assert.equal(typeof got, typeof want);
    });
  }
});

describe('parseYaml: documents', () => {
  it('reads bosh-deployment style `disk_size: 50_000` as the integer 50000', () => {
    assert.deepEqual(
      read('disk_types:\n- name: large\n  disk_size: 50_000\n'),
      ymap({ disk_types: [ymap({ name: 'large', disk_size: 50000 })] }),
    );
  });

  it('keeps map keys typed: `yes:` is the key true, `8080:` the key 8080, `~:` the key null', () => {
    const m = read("yes: 1\n8080: a\n1.5: b\n~: c\n'yes': d\n") as Map<unknown, unknown>;
    assert.deepEqual([...m.keys()], [true, 8080, 1.5, null, 'yes']);
  });

  it('reads a comment-only file, a blank file and an empty text as null', () => {
    assert.equal(read('# only\n# comments\n'), null);
    assert.equal(read('\n   \n\n'), null);
    assert.equal(read(''), null);
  });

  it('reads only the first document of a stream, ignoring what follows', () => {
    assert.deepEqual(read('a: 1\n---\nb: 2\n'), ymap({ a: 1 }));
    assert.deepEqual(read('a: b\n---\n: : :\n'), ymap({ a: 'b' }));
    assert.deepEqual(read('---\na: 1\n...\n'), ymap({ a: 1 }));
  });

  it('lets a later duplicate key win, as yaml.v2 Unmarshal does (only UnmarshalStrict refuses)', () => {
    assert.deepEqual(read('a: 1\nb: 0\na: 2\n'), ymap({ a: 2, b: 0 }));
    assert.deepEqual(read('{a: 1, a: 2}'), ymap({ a: 2 }));
  });

  it('expands aliases into independent copies', () => {
    const v = read('a: &x {k: [1]}\nb: *x\n') as Map<string, Map<string, number[]>>;
    assert.deepEqual(v.get('a'), v.get('b'));
    assert.notEqual(v.get('a'), v.get('b'));
  });

  it('merges `<<` keys in order: a later key (explicit or merged) overrides an earlier one', () => {
    assert.deepEqual(
      read('b: &b {p: 1, q: 1}\nm:\n  q: 2\n  <<: *b\n'),
      ymap({ b: ymap({ p: 1, q: 1 }), m: ymap({ q: 1, p: 1 }) }),
    );
    assert.deepEqual((read('b: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n') as Map<string, YamlValue>).get('m'), ymap({ x: 2 }));
  });

  it('merges a sequence of maps with the earlier maps taking precedence', () => {
    const v = read('a: &a {p: a, q: a}\nb: &b {p: b, r: b}\nm:\n  <<: [*a, *b]\n') as Map<string, YamlValue>;
    assert.deepEqual(v.get('m'), ymap({ p: 'a', r: 'b', q: 'a' }));
  });

  it('binds an alias to the last anchor of that name before it', () => {
    assert.deepEqual(read('a: &x 1\nb: *x\nc: &x 2\nd: *x\n'), ymap({ a: 1, b: 1, c: 2, d: 2 }));
    assert.deepEqual(read('m:\n  <<: [&p {k: 1}, *p]\n'), ymap({ m: ymap({ k: 1 }) }));
  });

  it('refuses an alias bomb as yaml.v2 does, quickly', () => {
    const lines = ['a: &a', ...Array<string>(9).fill('- lol')];
    for (let i = 1; i < 9; i++) {
      const [p, c] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      lines.push(`${c}: &${c}`, ...Array<string>(9).fill(`- *${p}`));
    }
    assert.throws(() => read(lines.join('\n')), {
      message: "Parsing YAML file 'test.yml': line 15, column 3: document contains excessive aliasing",
    });
  });

  it('reads an explicit empty key `?` as the key null', () => {
    assert.deepEqual(read('? \n: c\n'), ymap([[null, 'c']]));
  });

  it('treats a quoted "<<" as an ordinary key', () => {
    assert.deepEqual(read('"<<": {a: 1}\n'), ymap([['<<', ymap({ a: 1 })]]));
  });

  it('reads CRLF line breaks as line feeds, in block scalars too', () => {
    assert.deepEqual(
      read('a: |\r\n  x\r\n  y\r\nb: "p\r\n  q"\r\nc: [1, 2]\r\n'),
      ymap({ a: 'x\ny\n', b: 'p q', c: [1, 2] }),
    );
  });

  it('drops the missing final line break of a block scalar that ends the file', () => {
    assert.deepEqual(read('a: |\n  x'), ymap({ a: 'x' }));
    assert.deepEqual(read('a: |\n  x\n'), ymap({ a: 'x\n' }));
  });
});

describe('parseYaml: double-quoted scalars with libyaml escapes', () => {
  const cases: [string, string][] = [
    ['"it\\\'s"', "it's"],
    ['"tab\\there \\x41\\u00e9\\U0001F600"', 'tab\there Aé😀'],
    ['"\\N\\_\\L\\P\\e\\a\\v\\0\\ "', '\u0085\u00a0\u2028\u2029\x1b\x07\v\0 '],
    ['"x\\\n   y"', 'xy'],
    ['"x  \n\n   y  z "', 'x\ny  z '],
    ['"a\n  b"', 'a b'],
    ['"a\\\\b"', 'a\\b'],
  ];
  for (const [source, want] of cases) {
    it(`v: ${source}`, () => assert.equal(scalar(source), want));
  }
  it('refuses escapes libyaml does not know', () => {
    assert.throws(() => read('a: "\\/"\n'), {
      message: "Parsing YAML file 'test.yml': line 1, column 5: found unknown escape character",
    });
    assert.throws(() => read('a: "\\uD800"\n'), {
      message: "Parsing YAML file 'test.yml': line 1, column 5: found invalid Unicode character escape code",
    });
  });
});

describe('parseYaml: errors name the file, line and column', () => {
  const cases: [string, string][] = [
    [
      'a: b: c\n',
      "Parsing YAML file 'test.yml': line 1, column 4: Nested mappings are not allowed in compact mappings",
    ],
    [
      'a:\n  - b\n c: d\n',
      "Parsing YAML file 'test.yml': line 3, column 1: All mapping items must start at the same column",
    ],
    ['[1, 2', "Parsing YAML file 'test.yml': line 1, column 6: Flow sequence must end with a ]"],
    ['a: "x', "Parsing YAML file 'test.yml': line 1, column 6: Missing closing \"quote"],
    ['a:\n\tb: 1\n', "Parsing YAML file 'test.yml': line 2, column 1: Tabs are not allowed as indentation"],
    ['key: @x\n', "Parsing YAML file 'test.yml': line 1, column 6: Plain value cannot start with reserved character @"],
    ['a: 1\nb: *x\n', "Parsing YAML file 'test.yml': line 2, column 4: unknown anchor 'x' referenced"],
    ['a: &x [*x]\n', "Parsing YAML file 'test.yml': line 1, column 8: anchor 'x' value contains itself"],
    ['a: !!int x\n', "Parsing YAML file 'test.yml': line 1, column 10: cannot decode !!str `x` as a !!int"],
    ['a: !!float yes\n', "Parsing YAML file 'test.yml': line 1, column 12: cannot decode !!bool `yes` as a !!float"],
    [
      'a: !!binary "!!"\n',
      "Parsing YAML file 'test.yml': line 1, column 13: !!binary value contains invalid base64 data",
    ],
    ['? [1]\n: 2\n', "Parsing YAML file 'test.yml': line 1, column 3: invalid map key: []interface {}{1}"],
    [
      '<<: 1\n',
      "Parsing YAML file 'test.yml': line 1, column 5: map merge requires map or sequence of maps as the value",
    ],
    [
      'a: [x, y]: z\n',
      "Parsing YAML file 'test.yml': line 1, column 12: mapping values are not allowed in this context",
    ],
    ['a: 1\n: c\n', "Parsing YAML file 'test.yml': line 2, column 3: did not find expected key"],
    ['{: c}\n', "Parsing YAML file 'test.yml': line 1, column 4: did not find expected node content"],
    ['a: "\\q"\n', "Parsing YAML file 'test.yml': line 1, column 5: found unknown escape character"],
    ['a: [1]\n<<: [*a]\n', "Parsing YAML file 'test.yml': line 2, column 6: unknown anchor 'a' referenced"],
  ];
  for (const [text, message] of cases) {
    it(JSON.stringify(text), () => {
      assert.throws(
        () => read(text),
        (e: unknown) => {
          assert.ok(e instanceof YamlSyntaxError);
          assert.ok(e instanceof DirectorError);
          assert.equal(e.message, message);
          assert.equal(e.file, 'test.yml');
          const m = /line (\d+), column (\d+)/.exec(message);
          assert.equal(e.line, Number(m?.[1]));
          assert.equal(e.column, Number(m?.[2]));
          return true;
        },
      );
    });
  }
});

describe("YamlSyntaxError.yamlV2Message: bosh-cli's own words for the common errors", () => {
  // Each row: an input and the error yaml.v2 v2.4.0 gave for it (pinned by running yaml.v2).
  const cases: [string, string][] = [
    ['a:\n  b: 1\n c: 2\n', 'yaml: line 2: did not find expected key'],
    ['a:\n  - b\n  c: 1\n', "yaml: line 2: did not find expected '-' indicator"],
    ['a: "unclosed\nb: 2\n', 'yaml: line 3: found unexpected end of stream'],
    ['"half', 'yaml: found unexpected end of stream'],
    ['a:\n\tb: 1\n', 'yaml: line 2: found character that cannot start any token'],
    ['key: `x', 'yaml: found character that cannot start any token'],
    ['a: [1, 2\nb: 3\n', "yaml: line 1: did not find expected ',' or ']'"],
    ['x: [unclosed', "yaml: line 1: did not find expected ',' or ']'"],
    ['a: {a: 1', "yaml: line 1: did not find expected ',' or '}'"],
    ['- type: replace\n  path: /list/0\n   value: x\n', 'yaml: line 3: mapping values are not allowed in this context'],
    ['a: b: c', 'yaml: mapping values are not allowed in this context'],
    ['a: 1\n- b', 'yaml: line 1: did not find expected key'],
    [': colon', 'yaml: did not find expected key'],
    ['a: 1\n: c\n', 'yaml: line 1: did not find expected key'],
    ['a: 1\nb: "\\q"\n', 'yaml: line 2: found unknown escape character'],
    ['a: *x', "yaml: unknown anchor 'x' referenced"],
    ['a: !!int x', 'yaml: cannot decode !!str `x` as a !!int'],
    ['list_key:\n  ? [a, b]\n  : value\n', 'yaml: invalid map key: []interface {}{"a", "b"}'],
    ['a: \u0001', 'yaml: control characters are not allowed'],
  ];
  for (const [text, want] of cases) {
    it(JSON.stringify(text), () => {
      assert.throws(
        () => read(text),
        (e: unknown) => e instanceof YamlSyntaxError && e.yamlV2Message === want,
      );
    });
  }
});

it('integers beyond 2^53 keep every digit (bigints), as yaml.v2 keeps int64 and uint64', () => {
  const doc = parseYaml('u: 12345678901234567890\ni: -9223372036854775808\ns: 9007199254740991\n', 'big.yml') as Map<
    string,
    YamlValue
  >;
  assert.equal(doc.get('u'), 12345678901234567890n);
  assert.equal(doc.get('i'), -9223372036854775808n);
  assert.equal(doc.get('s'), 9007199254740991);
  assert.equal(stringifyYaml(doc), 'i: -9223372036854775808\ns: 9007199254740991\nu: 12345678901234567890\n');
});
