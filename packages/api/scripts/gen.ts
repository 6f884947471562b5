// Generates TypeScript types, static codecs and service descriptors from packages/api/proto/**.proto
// into packages/api/src/gen/. Run: npm run gen -w @conclave/api
//
// Static, per-field code (no reflection) because encoding/decoding sits on the server's hot path;
// see docs/codec.md for the measurement behind this choice.

import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProto, type ProtoEnum, type ProtoField, type ProtoFile, type ProtoMessage } from './proto-parser.js';

const apiRoot = resolve(fileURLToPath(import.meta.url), '../..');
const protoRoot = join(apiRoot, 'proto');
const outDir = join(apiRoot, 'src', 'gen');

interface Scalar {
  ts: string;
  def: string;
  wire: number;
  write: string;
  read: string;
  packable: boolean;
  json: 'int64' | 'uint64' | 'int32' | 'bool' | 'string' | 'bytes' | 'double';
}

const SCALARS: Record<string, Scalar> = {
  double: { ts: 'number', def: '0', wire: 1, write: 'double', read: 'double', packable: true, json: 'double' },
  int64: { ts: 'bigint', def: '0n', wire: 0, write: 'int64', read: 'int64', packable: true, json: 'int64' },
  uint64: { ts: 'bigint', def: '0n', wire: 0, write: 'int64', read: 'uint64', packable: true, json: 'uint64' },
  sint64: { ts: 'bigint', def: '0n', wire: 0, write: 'sint64', read: 'sint64', packable: true, json: 'int64' },
  fixed64: { ts: 'bigint', def: '0n', wire: 1, write: 'fixed64', read: 'fixed64', packable: true, json: 'uint64' },
  int32: { ts: 'number', def: '0', wire: 0, write: 'int32', read: 'int32', packable: true, json: 'int32' },
  uint32: { ts: 'number', def: '0', wire: 0, write: 'uint32', read: 'uint32', packable: true, json: 'int32' },
  sint32: { ts: 'number', def: '0', wire: 0, write: 'sint32', read: 'sint32', packable: true, json: 'int32' },
  fixed32: { ts: 'number', def: '0', wire: 5, write: 'fixed32', read: 'fixed32', packable: true, json: 'int32' },
  bool: { ts: 'boolean', def: 'false', wire: 0, write: 'bool', read: 'bool', packable: true, json: 'bool' },
  string: { ts: 'string', def: "''", wire: 2, write: 'string', read: 'string', packable: false, json: 'string' },
  bytes: { ts: 'Uint8Array', def: 'EMPTY', wire: 2, write: 'bytes', read: 'bytes', packable: false, json: 'bytes' },
};

interface TypeInfo {
  kind: 'message' | 'enum';
  pkg: string;
  tsName: string;
  def: ProtoMessage | ProtoEnum;
}

const registry = new Map<string, TypeInfo>();
/** "Request of `KV.Put`" / "Response of ..." for every message an rpc takes or returns. */
const rpcUse = new Map<string, string[]>();

/** A doc comment of the given paragraphs (undefined ones left out). */
function doc(indent: string, ...paragraphs: (string | undefined)[]): string[] {
  const lines = paragraphs
    .filter((p): p is string => p !== undefined && p !== '')
    .join('\n\n')
    .replaceAll('*/', '*\\/')
    .split('\n');
  if (lines.length === 1) return [`${indent}/** ${lines[0]} */`];
  return [`${indent}/**`, ...lines.map((l) => (l ? `${indent} * ${l}` : `${indent} *`)), `${indent} */`];
}

function listProtos(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listProtos(p, out);
    else if (name.endsWith('.proto')) out.push(p);
  }
  return out;
}

function camel(name: string): string {
  return name.replace(/_([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

function fileIdent(pkg: string): string {
  return pkg.replace(/\./g, '_');
}

function register(pkg: string, prefix: string, items: (ProtoMessage | ProtoEnum)[]): void {
  for (const item of items) {
    const tsName = prefix ? `${prefix}_${item.name}` : item.name;
    registry.set(item.fullName, { kind: item.kind, pkg, tsName, def: item });
    if (item.kind === 'message') register(pkg, tsName, item.nested);
  }
}

function resolveType(ref: string, scope: string): TypeInfo {
  if (ref.startsWith('.')) {
    const t = registry.get(ref.slice(1));
    if (t) return t;
  } else {
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), ref].join('.');
      const t = registry.get(candidate);
      if (t) return t;
    }
  }
  throw new Error(`unresolved type ${ref} in ${scope}`);
}

class Emitter {
  lines: string[] = [];
  imports = new Set<string>();
  constructor(readonly pkg: string) {}

  ref(t: TypeInfo): string {
    if (t.pkg === this.pkg) return t.tsName;
    this.imports.add(t.pkg);
    return `${fileIdent(t.pkg)}.${t.tsName}`;
  }

  emitEnum(e: ProtoEnum, tsName: string): void {
    this.lines.push(...doc('', e.comment, `The values of enum \`${e.fullName}\`, by name.`));
    this.lines.push(`export const ${tsName} = {`);
    for (const v of e.values) {
      if (v.comment !== undefined) this.lines.push(...doc('  ', v.comment));
      this.lines.push(`  ${v.name}: ${v.number},`);
    }
    this.lines.push('} as const;');
    this.lines.push(...doc('', `A value of enum \`${e.fullName}\` (the constant of the same name lists them).`));
    this.lines.push(`export type ${tsName} = (typeof ${tsName})[keyof typeof ${tsName}];`);
    this.lines.push(
      ...doc('', `The name of each value of enum \`${e.fullName}\`, by number (as JSON and etcd's texts spell it).`),
    );
    this.lines.push(`export const ${tsName}$names: Readonly<Record<number, string>> = {`);
    const seen = new Set<number>();
    for (const v of e.values) {
      if (seen.has(v.number)) continue;
      seen.add(v.number);
      this.lines.push(`  ${v.number}: '${v.name}',`);
    }
    this.lines.push('};', '');
  }

  emitMessage(m: ProtoMessage, tsName: string): void {
    for (const n of m.nested) {
      const info = registry.get(n.fullName)!;
      if (n.kind === 'enum') this.emitEnum(n, info.tsName);
      else this.emitMessage(n, info.tsName);
    }
    const scope = m.fullName;
    const fields = m.fields.map((f) => this.fieldInfo(f, scope));

    // Interface.
    const use = rpcUse.get(m.fullName)?.join('; ');
    this.lines.push(
      ...doc('', m.comment ?? (use ? `${use}.` : undefined), `Message \`${m.fullName}\`; its codec has the same name.`),
    );
    this.lines.push(`export interface ${tsName} {`);
    for (const [i, f] of fields.entries()) {
      const opt = f.optional ? '?' : '';
      const comment = m.fields[i]!.comment;
      if (comment !== undefined) this.lines.push(...doc('  ', comment));
      this.lines.push(`  ${f.prop}${opt}: ${f.tsType};`);
    }
    this.lines.push('}', '');

    // Codec.
    this.lines.push(
      ...doc('', `Codec of message \`${m.fullName}\`: binary protobuf (encode, decode) and JSON (toJSON, fromJSON).`),
    );
    this.lines.push(`export const ${tsName}: MessageCodec<${tsName}> = {`);
    this.lines.push(`  typeName: '${m.fullName}',`);

    // create
    this.lines.push(`  create(init?: PartialMessage<${tsName}>): ${tsName} {`);
    this.lines.push('    return {');
    for (const f of fields) this.lines.push(`      ${f.prop}: ${f.createExpr},`);
    this.lines.push('    };');
    this.lines.push('  },');

    // encode
    this.lines.push(`  encode(m: PartialMessage<${tsName}>, w: Writer): void {`);
    for (const f of fields) this.lines.push(...f.encode.map((l) => `    ${l}`));
    this.lines.push('  },');

    // decode
    this.lines.push(`  decode(r: Reader, end: number): ${tsName} {`);
    this.lines.push(`    const m: ${tsName} = {`);
    for (const f of fields) this.lines.push(`      ${f.prop}: ${f.decodeDefault},`);
    this.lines.push('    };');
    this.lines.push('    while (r.pos < end) {');
    this.lines.push('      const t = r.uint32();');
    this.lines.push('      switch (t) {');
    for (const f of fields) this.lines.push(...f.decode.map((l) => `        ${l}`));
    this.lines.push('        default:');
    this.lines.push('          r.skip(t & 7);');
    this.lines.push('      }');
    this.lines.push('    }');
    this.lines.push("    if (r.pos !== end) throw new DecodeError('protobuf: field overruns its message');");
    this.lines.push('    return m;');
    this.lines.push('  },');

    // toJSON
    this.lines.push(`  toJSON(m: PartialMessage<${tsName}>): Record<string, unknown> {`);
    this.lines.push('    const o: Record<string, unknown> = {};');
    for (const f of fields) this.lines.push(...f.toJSON.map((l) => `    ${l}`));
    this.lines.push('    return o;');
    this.lines.push('  },');

    // fromJSON
    this.lines.push(`  fromJSON(json: unknown): ${tsName} {`);
    this.lines.push(`    const o = objectFromJSON(json, '${m.fullName}');`);
    if (fields.length === 0) this.lines.push('    void o;');
    this.lines.push('    return {');
    for (const f of fields) this.lines.push(`      ${f.prop}: ${f.fromJSON},`);
    this.lines.push('    };');
    this.lines.push('  },');
    this.lines.push('};', '');
  }

  fieldInfo(f: ProtoField, scope: string) {
    const prop = camel(f.name);
    const jsonName = prop;
    const acc = `m.${prop}`;
    const scalar = SCALARS[f.type];
    const inOneof = f.oneof !== undefined;
    const pickExpr = `pick(o, '${f.name}', '${jsonName}')`;
    let tsType: string;
    let optional = false;
    let createExpr: string;
    let decodeDefault: string;
    const encode: string[] = [];
    const decode: string[] = [];
    const toJSON: string[] = [];
    let fromJSON: string;

    const tag = (wire: number) => (f.number << 3) | wire;

    if (scalar || resolveIsEnum(f.type, scope)) {
      const enumInfo = scalar ? undefined : resolveType(f.type, scope);
      const s: Scalar = scalar ?? SCALARS.int32!;
      const enumRef = enumInfo ? this.ref(enumInfo) : undefined;
      const base = enumRef ?? s.ts;
      const def = s.def;
      const toBig = (x: string) => (s.ts === 'bigint' ? `BigInt(${x})` : x);
      const jsonOut = (x: string) =>
        enumRef
          ? `${namesRef(enumInfo!, this)}[${x}] ?? ${x}`
          : s.json === 'int64' || s.json === 'uint64'
            ? `String(${x})`
            : s.json === 'bytes'
              ? `bytesToJSON(${x})`
              : x;
      const jsonIn = (x: string) =>
        enumRef
          ? `enumFromJSON(${x}, '${f.name}', ${enumRef}, '${enumInfo!.pkg}.${enumInfo!.tsName}') as ${enumRef}`
          : s.json === 'int64'
            ? `int64FromJSON(${x}, '${f.name}', false)`
            : s.json === 'uint64'
              ? `int64FromJSON(${x}, '${f.name}', true)`
              : s.json === 'int32' || s.json === 'double'
                ? `int32FromJSON(${x}, '${f.name}')`
                : s.json === 'bool'
                  ? `boolFromJSON(${x}, '${f.name}')`
                  : s.json === 'string'
                    ? `stringFromJSON(${x}, '${f.name}')`
                    : `bytesFromJSON(${x}, '${f.name}')`;
      const readExpr = enumRef ? `r.int32() as ${enumRef}` : `r.${s.read}()`;
      if (f.repeated) {
        tsType = `${base}[]`;
        createExpr =
          s.ts === 'bigint' ? `init?.${prop}?.map((x) => BigInt(x)) ?? []` : `init?.${prop} ? [...init.${prop}] : []`;
        decodeDefault = '[]';
        if (s.packable) {
          encode.push(`if (${acc} !== undefined && ${acc}.length > 0) {`);
          encode.push(`  w.uint32(${tag(2)});`);
          encode.push('  const at = w.beginLength();');
          encode.push(`  for (const x of ${acc}) w.${s.write}(x);`);
          encode.push('  w.endLength(at);');
          encode.push('}');
          decode.push(`case ${tag(2)}: {`);
          decode.push('  const e = r.length() + r.pos;');
          decode.push(`  while (r.pos < e) m.${prop}.push(${readExpr});`);
          decode.push('  break;');
          decode.push('}');
          decode.push(`case ${tag(s.wire)}:`);
          decode.push(`  m.${prop}.push(${readExpr});`);
          decode.push('  break;');
        } else {
          encode.push(`if (${acc} !== undefined) for (const x of ${acc}) {`);
          encode.push(`  w.uint32(${tag(s.wire)});`);
          encode.push(`  w.${s.write}(x);`);
          encode.push('}');
          decode.push(`case ${tag(s.wire)}:`);
          decode.push(`  m.${prop}.push(${readExpr});`);
          decode.push('  break;');
        }
        toJSON.push(
          `if (${acc} !== undefined && ${acc}.length > 0) o['${f.name}'] = ${acc}.map((x) => ${jsonOut('x')});`,
        );
        fromJSON = `arrayFromJSON(${pickExpr}, '${f.name}').map((x) => ${jsonIn('x')})`;
      } else if (inOneof) {
        tsType = base;
        optional = true;
        createExpr = `init?.${prop} !== undefined ? ${toBig(`init.${prop}`)} : undefined`;
        decodeDefault = 'undefined';
        encode.push(`if (${acc} !== undefined) {`);
        encode.push(`  w.uint32(${tag(s.wire)});`);
        encode.push(`  w.${s.write}(${acc});`);
        encode.push('}');
        decode.push(`case ${tag(s.wire)}:`);
        decode.push(...this.clearOneof(f, scope).map((l) => `  ${l}`));
        decode.push(`  m.${prop} = ${readExpr};`);
        decode.push('  break;');
        toJSON.push(`if (${acc} !== undefined) o['${f.name}'] = ${jsonOut(acc)};`);
        fromJSON = `${pickExpr} !== undefined ? ${jsonIn(pickExpr)} : undefined`;
      } else {
        tsType = base;
        createExpr = `init?.${prop} !== undefined ? ${toBig(`init.${prop}`)} : ${def}`;
        decodeDefault = def;
        const cond = s.ts === 'Uint8Array' ? `${acc} !== undefined && ${acc}.length > 0` : acc;
        encode.push(`if (${cond}) {`);
        encode.push(`  w.uint32(${tag(s.wire)});`);
        encode.push(`  w.${s.write}(${acc});`);
        encode.push('}');
        decode.push(`case ${tag(s.wire)}:`);
        decode.push(`  m.${prop} = ${readExpr};`);
        decode.push('  break;');
        toJSON.push(`if (${cond}) o['${f.name}'] = ${jsonOut(acc)};`);
        fromJSON = jsonIn(pickExpr);
      }
    } else {
      const info = resolveType(f.type, scope);
      const ref = this.ref(info);
      const encodeOne = (x: string) => [
        `w.uint32(${tag(2)});`,
        `{ const at = w.beginLength(); ${ref}.encode(${x}, w); w.endLength(at); }`,
      ];
      const decodeOne = ['const n = r.length();', 'const e = r.pos + n;'];
      if (f.repeated) {
        tsType = `${ref}[]`;
        createExpr = `init?.${prop}?.map((x) => ${ref}.create(x)) ?? []`;
        decodeDefault = '[]';
        encode.push(`if (${acc} !== undefined) for (const x of ${acc}) {`);
        encode.push(...encodeOne('x').map((l) => `  ${l}`));
        encode.push('}');
        decode.push(`case ${tag(2)}: {`);
        decode.push(...decodeOne.map((l) => `  ${l}`));
        decode.push('  r.enter();');
        decode.push(`  m.${prop}.push(${ref}.decode(r, e));`);
        decode.push('  r.depth--;');
        decode.push('  break;');
        decode.push('}');
        toJSON.push(
          `if (${acc} !== undefined && ${acc}.length > 0) o['${f.name}'] = ${acc}.map((x) => ${ref}.toJSON(x));`,
        );
        fromJSON = `arrayFromJSON(${pickExpr}, '${f.name}').map((x) => ${ref}.fromJSON(x))`;
      } else {
        tsType = ref;
        optional = true;
        createExpr = `init?.${prop} != null ? ${ref}.create(init.${prop}) : undefined`;
        decodeDefault = 'undefined';
        encode.push(`if (${acc} != null) {`);
        encode.push(...encodeOne(acc).map((l) => `  ${l}`));
        encode.push('}');
        decode.push(`case ${tag(2)}: {`);
        if (inOneof) decode.push(...this.clearOneof(f, scope).map((l) => `  ${l}`));
        decode.push(...decodeOne.map((l) => `  ${l}`));
        decode.push('  r.enter();');
        decode.push(`  m.${prop} = ${ref}.decode(r, e);`);
        decode.push('  r.depth--;');
        decode.push('  break;');
        decode.push('}');
        toJSON.push(`if (${acc} != null) o['${f.name}'] = ${ref}.toJSON(${acc});`);
        fromJSON = `${pickExpr} != null ? ${ref}.fromJSON(${pickExpr}) : undefined`;
      }
    }
    return { prop, tsType, optional, createExpr, decodeDefault, encode, decode, toJSON, fromJSON };
  }

  clearOneof(f: ProtoField, scope: string): string[] {
    const msg = registry.get(scope)!.def as ProtoMessage;
    return msg.fields.filter((g) => g.oneof === f.oneof && g !== f).map((g) => `m.${camel(g.name)} = undefined;`);
  }
}

function resolveIsEnum(type: string, scope: string): boolean {
  if (SCALARS[type]) return false;
  return resolveType(type, scope).kind === 'enum';
}

function namesRef(info: TypeInfo, em: Emitter): string {
  if (info.pkg === em.pkg) return `${info.tsName}$names`;
  em.imports.add(info.pkg);
  return `${fileIdent(info.pkg)}.${info.tsName}$names`;
}

function generate(files: ProtoFile[]): Map<string, string> {
  const byPkg = new Map<string, ProtoFile[]>();
  for (const f of files) {
    register(f.package, '', [...f.enums, ...f.messages]);
    byPkg.set(f.package, [...(byPkg.get(f.package) ?? []), f]);
  }
  for (const f of files) {
    for (const svc of f.services) {
      for (const rpc of svc.rpcs) {
        for (const [ref, what] of [
          [rpc.requestType, 'Request'],
          [rpc.responseType, 'Response'],
        ] as const) {
          const full = resolveType(ref, f.package);
          const key = [...registry].find(([, t]) => t === full)![0];
          rpcUse.set(key, [...(rpcUse.get(key) ?? []), `${what} of \`${svc.name}.${rpc.name}\``]);
        }
      }
    }
  }
  const out = new Map<string, string>();
  for (const [pkg, pkgFiles] of byPkg) {
    const em = new Emitter(pkg);
    for (const f of pkgFiles) {
      for (const e of f.enums) em.emitEnum(e, registry.get(e.fullName)!.tsName);
      for (const m of f.messages) em.emitMessage(m, registry.get(m.fullName)!.tsName);
      for (const svc of f.services) {
        const full = `${pkg}.${svc.name}`;
        em.lines.push(
          ...doc(
            '',
            svc.comment,
            `Service \`${full}\`: a descriptor (path, streaming, codecs) of each method, by name.`,
          ),
        );
        em.lines.push(`export const ${svc.name}Service = {`);
        for (const rpc of svc.rpcs) {
          const req = em.ref(resolveType(rpc.requestType, pkg));
          const res = em.ref(resolveType(rpc.responseType, pkg));
          if (rpc.comment !== undefined) em.lines.push(...doc('  ', rpc.comment));
          em.lines.push(
            `  ${rpc.name}: method('${full}', '${rpc.name}', ${rpc.requestStream}, ${rpc.responseStream}, ${req}, ${res}),`,
          );
        }
        em.lines.push('} as const;', '');
      }
    }
    const header = [
      '// Generated by packages/api/scripts/gen.ts from packages/api/proto — do not edit.',
      '/* eslint-disable */',
      "import { DecodeError, type MessageCodec, type PartialMessage, type Reader, type Writer } from '../runtime/message.js';",
      "import { arrayFromJSON, boolFromJSON, bytesFromJSON, bytesToJSON, enumFromJSON, int32FromJSON, int64FromJSON, objectFromJSON, pick, stringFromJSON } from '../runtime/json.js';",
      "import { method } from '../runtime/service.js';",
      ...[...em.imports].sort().map((p) => `import * as ${fileIdent(p)} from './${p.replace(/\./g, '-')}.js';`),
      '',
      'const EMPTY: Uint8Array = new Uint8Array(0);',
      'void [DecodeError, arrayFromJSON, boolFromJSON, bytesFromJSON, bytesToJSON, enumFromJSON, int32FromJSON, int64FromJSON, objectFromJSON, pick, stringFromJSON, method, EMPTY];',
      '',
    ];
    out.set(`${pkg.replace(/\./g, '-')}.ts`, [...header, ...em.lines].join('\n'));
  }
  return out;
}

const files = listProtos(protoRoot).map((p) => parseProto(readFileSync(p, 'utf8'), relative(protoRoot, p)));
const generated = generate(files);
mkdirSync(outDir, { recursive: true });
for (const [name, text] of generated) {
  writeFileSync(join(outDir, name), text);
  console.log(`wrote src/gen/${name} (${text.split('\n').length} lines)`);
}
