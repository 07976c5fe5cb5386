import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatErrorChain } from '../../../../src/errors.js';
import { MemoryVariableStore } from '../../../../src/manifest/variables/memory-variable-store.js';
import { StaticVariables } from '../../../../src/manifest/variables/static-variables.js';
import { evaluateTemplate } from '../../../../src/manifest/variables/template.js';
import { isWholeReference, referencedNames } from '../../../../src/manifest/variables/interpolation.js';
import { fromPlain, toPlain } from '../../../../src/manifest/value.js';
import type { YamlValue } from '../../../../src/manifest/value.js';

function vars(o: Record<string, unknown>): StaticVariables {
  return new StaticVariables(Object.entries(o).map(([k, v]) => [k, fromPlain(v)] as const));
}

async function evaluate(
  doc: unknown,
  given: Record<string, unknown> = {},
  extra: { expectAllKeys?: boolean; expectAllVarsUsed?: boolean } = {},
) {
  return toPlain(await evaluateTemplate(fromPlain(doc), { vars: vars(given), ...extra }));
}

async function failure(
  doc: unknown,
  given: Record<string, unknown> = {},
  extra: { expectAllKeys?: boolean; expectAllVarsUsed?: boolean } = {},
) {
  try {
    await evaluateTemplate(fromPlain(doc), { vars: vars(given), ...extra });
  } catch (err) {
    return formatErrorChain(err);
  }
  assert.fail('expected evaluation to fail');
}

describe('reference names (bosh-cli interpolationRegex)', () => {
  it('accepts letters, digits, _ - / . and Unicode letters, optional single spaces inside the brackets', () => {
    assert.deepEqual(referencedNames('((a))'), ['a']);
    assert.deepEqual(referencedNames('(( a ))'), ['a']);
    assert.deepEqual(referencedNames('((/director/dep/name.key))'), ['/director/dep/name.key']);
    assert.deepEqual(referencedNames('((naïve_ünïcode-1))'), ['naïve_ünïcode-1']);
    assert.deepEqual(referencedNames('((!literal))'), ['literal']);
    assert.deepEqual(referencedNames('((a))((b))x((a))'), ['a', 'b', 'a']);
  });

  it('rejects two spaces, other characters and empty names', () => {
    for (const s of [
      '((  a))',
      '((a  ))',
      '((a b))',
      '(())',
      '((a:b))',
      '((a*))',
      '((a!))',
      '((!!a))',
      '(a)',
      '((\ta))',
    ]) {
      assert.deepEqual(referencedNames(s), [], s);
    }
  });

  it('knows a whole-string reference from one inside a string', () => {
    assert.equal(isWholeReference('((a))'), true);
    assert.equal(isWholeReference('(( a ))'), true);
    assert.equal(isWholeReference('((a))\n'), false);
    assert.equal(isWholeReference(' ((a))'), false);
    assert.equal(isWholeReference('((a))((b))'), false);
  });
});

describe('interpolation', () => {
  it('keeps the type of a whole-string value (map, int, bool, null, list)', async () => {
    const out = await evaluate(
      { m: '((m))', i: '((i))', b: '((b))', n: '((n))', l: '((l))', spaced: '(( i ))' },
      { m: { k: 'v' }, i: 3, b: true, n: null, l: [1, 'x'] },
    );
    assert.deepEqual(out, { m: { k: 'v' }, i: 3, b: true, n: null, l: [1, 'x'], spaced: 3 });
  });

  it('interpolates into strings: strings and integers, every occurrence, ((!name)) too', async () => {
    const out = await evaluate({ a: 'x((s))y((i))z((s))', b: 'p((!s))q', c: ['((s))-((i))'] }, { s: 'S', i: 42 });
    assert.deepEqual(out, { a: 'xSy42zS', b: 'pSq', c: ['S-42'] });
  });

  it("two references in one string, as cfcr.yml's certificate: ((tls.certificate))((tls.ca))", async () => {
    const tls = { ca: 'CA-PEM\n', certificate: 'CERT-PEM\n', private_key: 'KEY\n' };
    const out = await evaluate(
      { tls: { certificate: '((tls-kubelet.certificate))((tls-kubelet.ca))' } },
      { 'tls-kubelet': tls },
    );
    assert.deepEqual(out, { tls: { certificate: 'CERT-PEM\nCA-PEM\n' } });
  });

  it('((!name)) is looked up like ((name)) (the ! is stripped), whole or inside a string or list', async () => {
    assert.deepEqual(await evaluate({ abc: '((!key))', xyz: ['((!key))'], n: '((!num))' }, { key: 'val', num: 3 }), {
      abc: 'val',
      xyz: ['val'],
      n: 3,
    });
  });

  it('a key that interpolates to null becomes the null key; an unparsable reference is left alone', async () => {
    const out = await evaluateTemplate(fromPlain({ '((key))': 'value', x: '(()', y: '((a)' }), {
      vars: vars({ key: null, a: 1 }),
    });
    assert.deepEqual(
      [...(out as Map<unknown, unknown>).entries()],
      [
        [null, 'value'],
        ['x', '(()'],
        ['y', '((a)'],
      ],
    );
  });

  it('like bosh-cli, replaces only the exact ((name)) form inside a string, not (( name ))', async () => {
    assert.deepEqual(await evaluate({ a: 'x(( s ))y((s))' }, { s: 'S' }), { a: 'x(( s ))yS' });
  });

  it('refuses a map, list, float, bool or null inside a string, naming the variable but not the value', async () => {
    for (const [value, type] of [
      [{ k: 'secret' }, 'map[interface {}]interface {}'],
      [['secret'], '[]interface {}'],
      [1.5, 'float64'],
      [true, 'bool'],
      [null, '<nil>'],
    ] as const) {
      const msg = await failure({ a: 'x((v))' }, { v: value });
      assert.equal(
        msg,
        `Invalid type '${type}' for variable 'v'. Supported types for interpolation within a string are integers and strings.`,
      );
      assert.ok(!msg.includes('secret'));
    }
  });

  it('interpolates map keys (after the value), keeping key order', async () => {
    const out = await evaluateTemplate(fromPlain({ '((k))': '((v))', z: 1, 'p-((k))': 2 }), {
      vars: vars({ k: 'key', v: 'val' }),
    });
    assert.deepEqual(
      [...(out as Map<unknown, unknown>).entries()],
      [
        ['key', 'val'],
        ['z', 1],
        ['p-key', 2],
      ],
    );
    const intKey = await evaluateTemplate(fromPlain({ '((k))': 'x' }), { vars: vars({ k: 8080 }) });
    assert.deepEqual([...(intKey as Map<unknown, unknown>).keys()], [8080]);
  });

  it('does not modify the input document', async () => {
    const doc = fromPlain({ a: ['((s))'], b: { '((s))': '((s))' } });
    const before = JSON.stringify(toPlain(doc));
    await evaluateTemplate(doc, { vars: vars({ s: 'S' }) });
    assert.equal(JSON.stringify(toPlain(doc)), before);
  });

  it('leaves missing references in place and, by default, does not fail', async () => {
    assert.deepEqual(await evaluate({ a: '((nope))', b: 'x((nope.k))y', c: '((s))' }, { s: 1 }), {
      a: '((nope))',
      b: 'x((nope.k))y',
      c: 1,
    });
  });

  it('looks up paths into values (go-patch pointer after the first dot), indexes too', async () => {
    const given = { c: { ca: 'CA', nested: { deep: 'D' }, list: ['zero', 'one'], '0': 'key-zero' }, l: ['a', 'b'] };
    const out = await evaluate(
      { a: '((c.ca))', b: '((c.nested.deep))', d: '((c.list.1))', e: '((l.0))', f: '((c.0))' },
      given,
    );
    assert.deepEqual(out, { a: 'CA', b: 'D', d: 'one', e: 'a', f: 'key-zero' });
  });

  it('names the missing key of a path, with the keys that exist', async () => {
    assert.equal(
      await failure({ a: '((tls.certficate))' }, { tls: { ca: 'x', certificate: 'y', private_key: 'z' } }),
      "Finding variable 'tls.certficate': Expected to find a map key 'certficate' for path '/certficate' (found map keys: 'ca', 'certificate', 'private_key')",
    );
    assert.equal(
      await failure({ a: '((l.5))' }, { l: ['a'] }),
      "Finding variable 'l.5': Expected to find a map at path '/5' but found '[]interface {}'",
    );
  });

  it('gives -v a.b=1 style names as nested maps', async () => {
    const given = new StaticVariables([
      ['a.b', 1],
      ['a', fromPlain({ c: 2 })],
      ['x.y.z', 'deep'],
    ]);
    const out = await evaluateTemplate(fromPlain({ ab: '((a.b))', ac: '((a.c))', xyz: '((x.y.z))', x: '((x))' }), {
      vars: given,
    });
    assert.deepEqual(toPlain(out), { ab: 1, ac: 2, xyz: 'deep', x: { y: { z: 'deep' } } });
  });
});

describe('--var-errs and --var-errs-unused', () => {
  it('lists every missing name once, sorted, top-level names only, on one line', async () => {
    const msg = await failure(
      { a: '((zeta))', b: 'x((alpha.key))', c: '((zeta))', d: { '((mid))': 1 }, ok: '((s))' },
      { s: 1 },
      { expectAllKeys: true },
    );
    assert.equal(msg, 'Expected to find variables: alpha, mid, zeta');
  });

  it('counts declared variables without a value as missing, used or not', async () => {
    const doc = { variables: [{ name: 'declared', type: 'password' }, { name: 'untyped' }], a: 1 };
    assert.equal(await failure(doc, {}, { expectAllKeys: true }), 'Expected to find variables: declared, untyped');
  });

  it('lists every given name never used, and both lists in one error', async () => {
    assert.equal(
      await failure({ a: '((used))' }, { used: 1, b: 2, a: 3 }, { expectAllVarsUsed: true }),
      'Expected to use variables: a, b',
    );
    assert.equal(
      await failure(
        { a: '((used))', m: '((gone))' },
        { used: 1, b: 2 },
        { expectAllKeys: true, expectAllVarsUsed: true },
      ),
      'Expected to find variables: gone; Expected to use variables: b',
    );
  });

  it('counts a stored name as given for --var-errs-unused; a declared name counts as used', async () => {
    const store = new MemoryVariableStore([
      ['kept', 'v'],
      ['stale', 'v'],
    ]);
    const doc = fromPlain({ variables: [{ name: 'kept' }] });
    await assert.rejects(evaluateTemplate(doc, { vars: vars({}), store, expectAllVarsUsed: true }), (err: unknown) => {
      assert.equal(formatErrorChain(err), 'Expected to use variables: stale');
      return true;
    });
  });

  it('passes when everything is found and used', async () => {
    assert.deepEqual(await evaluate({ a: '((x))' }, { x: 1 }, { expectAllKeys: true, expectAllVarsUsed: true }), {
      a: 1,
    });
  });
});

describe('the variables section', () => {
  it('removes declared variables that have a value and keeps the others', async () => {
    const doc = {
      variables: [{ name: 'given', type: 'password' }, { name: 'absent', type: 'password' }, { name: 'plain' }],
      a: '((given))',
    };
    assert.deepEqual(await evaluate(doc, { given: 'g', plain: 'p' }), {
      variables: [{ name: 'absent', type: 'password' }],
      a: 'g',
    });
  });

  it('interpolates definition options, and a definition whose options miss a name is not found (bosh-cli)', async () => {
    const store = new MemoryVariableStore();
    const doc = fromPlain({
      variables: [
        { name: 'p', type: 'password', options: { length: '((len))' } },
        { name: 'q', type: 'password', options: { length: '((nope))' } },
      ],
      a: '((p))',
      b: '((q))',
    });
    const out = (await evaluateTemplate(doc, { vars: vars({ len: 7 }), store })) as Map<string, YamlValue>;
    assert.equal((out.get('a') as string).length, 7);
    assert.equal(out.get('b'), '((q))');
    assert.deepEqual(await store.names(), ['p']);
    // The section itself is interpolated as part of the document, so `nope` is missing, not `q`.
    await assert.rejects(evaluateTemplate(doc, { vars: vars({ len: 7 }), store, expectAllKeys: true }), {
      message: 'Expected to find variables: nope',
    });
  });

  it('detects a definition whose options refer to itself', async () => {
    const doc = { variables: [{ name: 'p', type: 'password', options: { length: '((p))' } }] };
    const store = new MemoryVariableStore();
    await assert.rejects(evaluateTemplate(fromPlain(doc), { vars: vars({}), store }), (err: unknown) => {
      assert.equal(
        formatErrorChain(err),
        "Getting all variables from variable definitions sections: Interpolating variable 'p' definition options: Finding variable 'p': Detected recursion",
      );
      return true;
    });
  });

  it('reports a malformed variables section', async () => {
    assert.equal(
      await failure({ variables: { a: 1 } }),
      "Parsing variable definitions: Expected 'variables' to be a list, found 'map[interface {}]interface {}'",
    );
    assert.equal(
      await failure({ variables: [{ name: { a: 1 } }] }),
      "Parsing variable definitions: Expected 'variables[0].name' to be a string, found 'map[interface {}]interface {}'",
    );
  });

  it('without a store, never generates', async () => {
    assert.deepEqual(await evaluate({ variables: [{ name: 'p', type: 'password' }], a: '((p))' }), {
      variables: [{ name: 'p', type: 'password' }],
      a: '((p))',
    });
  });
});
