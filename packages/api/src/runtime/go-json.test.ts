import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFirstValue, goQuoteChar, JsonNumber, unmarshalWhole } from './go-json.js';

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

test("goQuoteChar names a byte as Go's strconv.Quote of it as a rune", () => {
  assert.equal(goQuoteChar(0x78), "'x'");
  assert.equal(goQuoteChar(0x27), "'\\''");
  assert.equal(goQuoteChar(0x22), `'"'`);
  assert.equal(goQuoteChar(0x5c), "'\\\\'");
  assert.equal(goQuoteChar(0x0a), "'\\n'");
  assert.equal(goQuoteChar(0x01), "'\\x01'");
  assert.equal(goQuoteChar(0x7f), "'\\x7f'");
  assert.equal(goQuoteChar(0x85), "'\\u0085'");
  assert.equal(goQuoteChar(0xa0), "'\\u00a0'");
  assert.equal(goQuoteChar(0xad), "'\\u00ad'");
  assert.equal(goQuoteChar(0xc3), "'Ã'");
});

test('decodeFirstValue: the first value, numbers with their literal text, Go syntax messages', () => {
  assert.equal(decodeFirstValue(' \n\t'), undefined);
  assert.deepEqual(decodeFirstValue('{"a":[1.50,"x",true,null,{}]} ignored'), {
    __proto__: null,
    a: [new JsonNumber('1.50'), 'x', true, null, Object.create(null)],
  });
  assert.deepEqual(Object.getPrototypeOf(decodeFirstValue('{"__proto__":1}')), null);
  const errors: Array<[string | Buffer, string]> = [
    ['{"a":1', 'unexpected EOF'],
    ['[1 2]', "invalid character '2' after array element"],
    ['{"a":1 "b"', `invalid character '"' after object key:value pair`],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['[fals]', "invalid character ']' in literal false (expecting 'e')"],
    ['[1e+]', "invalid character ']' in exponent of numeric literal"],
    ['["\\x"]', "invalid character 'x' in string escape code"],
    [Buffer.from([0x5b, 0xc3, 0xa9]), "invalid character 'Ã' looking for beginning of value"],
  ];
  for (const [text, want] of errors)
    assert.equal(
      message(() => decodeFirstValue(text)),
      want,
      String(text),
    );
});

test('unmarshalWhole: the whole text must be one value (json.Unmarshal)', () => {
  assert.deepEqual(unmarshalWhole(' 12 '), new JsonNumber('12'));
  const errors: Array<[string, string]> = [
    ['', 'unexpected end of JSON input'],
    ['1 2', "invalid character '2' after top-level value"],
    ['x', "invalid character 'x' looking for beginning of value"],
  ];
  for (const [text, want] of errors)
    assert.equal(
      message(() => unmarshalWhole(text)),
      want,
      text,
    );
});
