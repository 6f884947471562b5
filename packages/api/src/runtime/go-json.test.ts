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
  assert.equal(
    message(() => decodeFirstValue('{"a":1')),
    'unexpected EOF',
  );
  assert.equal(
    message(() => decodeFirstValue('[1 2]')),
    "invalid character '2' after array element",
  );
  assert.equal(
    message(() => decodeFirstValue('{"a":1 "b"')),
    `invalid character '"' after object key:value pair`,
  );
  assert.equal(
    message(() => decodeFirstValue('{"a" 1}')),
    "invalid character '1' after object key",
  );
  assert.equal(
    message(() => decodeFirstValue('[fals]')),
    "invalid character ']' in literal false (expecting 'e')",
  );
  assert.equal(
    message(() => decodeFirstValue('[1e+]')),
    "invalid character ']' in exponent of numeric literal",
  );
  assert.equal(
    message(() => decodeFirstValue('["\\x"]')),
    "invalid character 'x' in string escape code",
  );
  assert.equal(
    message(() => decodeFirstValue(Buffer.from([0x5b, 0xc3, 0xa9]))),
    "invalid character 'Ã' looking for beginning of value",
  );
});

test('unmarshalWhole: the whole text must be one value (json.Unmarshal)', () => {
  assert.deepEqual(unmarshalWhole(' 12 '), new JsonNumber('12'));
  assert.equal(
    message(() => unmarshalWhole('')),
    'unexpected end of JSON input',
  );
  assert.equal(
    message(() => unmarshalWhole('1 2')),
    "invalid character '2' after top-level value",
  );
  assert.equal(
    message(() => unmarshalWhole('x')),
    "invalid character 'x' looking for beginning of value",
  );
});
