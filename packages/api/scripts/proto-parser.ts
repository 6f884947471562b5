// A parser for the proto3 subset the project's .proto files use: package, import, option (ignored),
// message (nested), enum, scalar/message/enum fields, repeated, oneof, reserved, service/rpc/stream.
// The `//` lines right above a message, enum, enum value, field, service or rpc are kept as its
// comment (the generator turns them into doc comments); separator lines of dashes are left out.

export interface ProtoField {
  name: string;
  number: number;
  type: string; // scalar name or a (possibly qualified) type reference
  repeated: boolean;
  oneof?: string;
  comment?: string;
}

export interface ProtoEnum {
  kind: 'enum';
  name: string;
  fullName: string;
  values: { name: string; number: number; comment?: string }[];
  comment?: string;
}

export interface ProtoMessage {
  kind: 'message';
  name: string;
  fullName: string;
  fields: ProtoField[];
  oneofs: string[];
  nested: (ProtoMessage | ProtoEnum)[];
  comment?: string;
}

export interface ProtoRpc {
  name: string;
  requestType: string;
  requestStream: boolean;
  responseType: string;
  responseStream: boolean;
  comment?: string;
}

export interface ProtoService {
  name: string;
  rpcs: ProtoRpc[];
  comment?: string;
}

export interface ProtoFile {
  path: string;
  package: string;
  imports: string[];
  messages: ProtoMessage[];
  enums: ProtoEnum[];
  services: ProtoService[];
}

interface Tokens {
  tokens: string[];
  /** The comment block that ends on the line above token i, if any. */
  comments: (string | undefined)[];
}

function tokenize(src: string, path: string): Tokens {
  const tokens: string[] = [];
  const comments: (string | undefined)[] = [];
  let i = 0;
  let line = 1;
  let block: string[] = [];
  let blockEnd = -1;
  const push = (t: string): void => {
    comments[tokens.length] = blockEnd === line - 1 && block.length > 0 ? block.join('\n') : undefined;
    tokens.push(t);
    block = [];
    blockEnd = -1;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (src.startsWith('//', i)) {
      let j = i;
      while (j < src.length && src[j] !== '\n') j++;
      const text = src
        .slice(i + 2, j)
        .replace(/^ /, '')
        .trimEnd();
      if (blockEnd !== line - 1) block = [];
      if (!/^-+$/.test(text)) block.push(text);
      blockEnd = line;
      i = j;
    } else if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`${path}: unterminated comment`);
      for (let k = i; k < end; k++) if (src[k] === '\n') line++;
      i = end + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      push(src.slice(i, j + 1));
      i = j + 1;
    } else if (/[A-Za-z0-9_.\-+]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_.\-+]/.test(src[j]!)) j++;
      push(src.slice(i, j));
      i = j;
    } else {
      push(c);
      i++;
    }
  }
  return { tokens, comments };
}

class Parser {
  private pos = 0;
  private readonly tokens: string[];
  private readonly comments: (string | undefined)[];
  constructor(
    { tokens, comments }: Tokens,
    private readonly path: string,
  ) {
    this.tokens = tokens;
    this.comments = comments;
  }

  /** Sets `comment` on `o` when the token at `at` has one. */
  private withComment<T extends { comment?: string }>(o: T, at: number): T {
    const c = this.comments[at];
    if (c !== undefined) o.comment = c;
    return o;
  }

  private peek(): string | undefined {
    return this.tokens[this.pos];
  }

  private next(): string {
    const t = this.tokens[this.pos++];
    if (t === undefined) throw new Error(`${this.path}: unexpected end of file`);
    return t;
  }

  private expect(t: string): void {
    const got = this.next();
    if (got !== t) throw new Error(`${this.path}: expected '${t}', got '${got}' (token ${this.pos})`);
  }

  private skipStatement(): void {
    let depth = 0;
    for (;;) {
      const t = this.next();
      if (t === '{') depth++;
      if (t === '}') depth--;
      if (t === ';' && depth === 0) return;
      if (t === '}' && depth === 0) return;
    }
  }

  parseFile(): ProtoFile {
    const file: ProtoFile = { path: this.path, package: '', imports: [], messages: [], enums: [], services: [] };
    while (this.peek() !== undefined) {
      const t = this.next();
      const at = this.pos - 1;
      switch (t) {
        case 'syntax':
          this.expect('=');
          if (this.next().slice(1, -1) !== 'proto3') throw new Error(`${this.path}: only proto3 is supported`);
          this.expect(';');
          break;
        case 'package':
          file.package = this.next();
          this.expect(';');
          break;
        case 'import':
          file.imports.push(this.next().slice(1, -1));
          this.expect(';');
          break;
        case 'option':
          this.skipStatement();
          break;
        case 'message':
          file.messages.push(this.withComment(this.parseMessage(file.package), at));
          break;
        case 'enum':
          file.enums.push(this.withComment(this.parseEnum(file.package), at));
          break;
        case 'service':
          file.services.push(this.withComment(this.parseService(), at));
          break;
        case ';':
          break;
        default:
          throw new Error(`${this.path}: unexpected '${t}' at top level`);
      }
    }
    return file;
  }

  private parseMessage(scope: string): ProtoMessage {
    const name = this.next();
    const fullName = scope ? `${scope}.${name}` : name;
    const msg: ProtoMessage = { kind: 'message', name, fullName, fields: [], oneofs: [], nested: [] };
    this.expect('{');
    for (;;) {
      const t = this.next();
      if (t === '}') break;
      if (t === ';') continue;
      const at = this.pos - 1;
      if (t === 'message') msg.nested.push(this.withComment(this.parseMessage(fullName), at));
      else if (t === 'enum') msg.nested.push(this.withComment(this.parseEnum(fullName), at));
      else if (t === 'option' || t === 'reserved' || t === 'extensions') this.skipStatement();
      else if (t === 'oneof') {
        const oneof = this.next();
        msg.oneofs.push(oneof);
        this.expect('{');
        for (;;) {
          const u = this.next();
          if (u === '}') break;
          if (u === 'option') {
            this.skipStatement();
            continue;
          }
          const fieldAt = this.pos - 1;
          msg.fields.push(this.withComment(this.parseField(u, false, oneof), fieldAt));
        }
      } else if (t === 'repeated') {
        msg.fields.push(this.withComment(this.parseField(this.next(), true), at));
      } else if (t === 'map' || t === 'optional' || t === 'required' || t === 'group') {
        throw new Error(`${this.path}: '${t}' is not supported by this generator (message ${fullName})`);
      } else {
        msg.fields.push(this.withComment(this.parseField(t, false), at));
      }
    }
    return msg;
  }

  private parseField(type: string, repeated: boolean, oneof?: string): ProtoField {
    const name = this.next();
    this.expect('=');
    const number = Number(this.next());
    if (!Number.isInteger(number) || number < 1) throw new Error(`${this.path}: bad field number for ${name}`);
    let t = this.next();
    if (t === '[') {
      while (this.next() !== ']');
      t = this.next();
    }
    if (t !== ';') throw new Error(`${this.path}: expected ';' after field ${name}`);
    const field: ProtoField = { name, number, type, repeated };
    if (oneof !== undefined) field.oneof = oneof;
    return field;
  }

  private parseEnum(scope: string): ProtoEnum {
    const name = this.next();
    const e: ProtoEnum = { kind: 'enum', name, fullName: `${scope}.${name}`, values: [] };
    this.expect('{');
    for (;;) {
      const t = this.next();
      if (t === '}') break;
      if (t === ';') continue;
      if (t === 'option' || t === 'reserved') {
        this.skipStatement();
        continue;
      }
      const at = this.pos - 1;
      this.expect('=');
      const number = Number(this.next());
      let u = this.next();
      if (u === '[') {
        while (this.next() !== ']');
        u = this.next();
      }
      if (u !== ';') throw new Error(`${this.path}: expected ';' in enum ${name}`);
      e.values.push(this.withComment<ProtoEnum['values'][number]>({ name: t, number }, at));
    }
    return e;
  }

  private parseService(): ProtoService {
    const name = this.next();
    const svc: ProtoService = { name, rpcs: [] };
    this.expect('{');
    for (;;) {
      const t = this.next();
      if (t === '}') break;
      if (t === ';') continue;
      if (t === 'option') {
        this.skipStatement();
        continue;
      }
      if (t !== 'rpc') throw new Error(`${this.path}: unexpected '${t}' in service ${name}`);
      const at = this.pos - 1;
      const rpcName = this.next();
      const [requestType, requestStream] = this.rpcType();
      this.expect('returns');
      const [responseType, responseStream] = this.rpcType();
      const end = this.next();
      if (end === '{') {
        let depth = 1;
        while (depth > 0) {
          const u = this.next();
          if (u === '{') depth++;
          if (u === '}') depth--;
        }
      } else if (end !== ';') {
        throw new Error(`${this.path}: expected ';' or '{' after rpc ${rpcName}`);
      }
      svc.rpcs.push(
        this.withComment<ProtoRpc>({ name: rpcName, requestType, requestStream, responseType, responseStream }, at),
      );
    }
    return svc;
  }

  /** `( [stream] Type )` of an rpc's request or response: the type and whether it is a stream. */
  private rpcType(): [type: string, stream: boolean] {
    this.expect('(');
    let type = this.next();
    const stream = type === 'stream';
    if (stream) type = this.next();
    this.expect(')');
    return [type, stream];
  }
}

export function parseProto(src: string, path: string): ProtoFile {
  return new Parser(tokenize(src, path), path).parseFile();
}
