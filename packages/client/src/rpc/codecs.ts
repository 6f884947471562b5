// grpc-js serializers for the generated codecs, made once per method.

import { decodeMessage, encodeMessage, type MethodDescriptor, type PartialMessage } from '@conclave/api';

export interface MethodCodecs<Req, Res> {
  serialize: (v: PartialMessage<Req>) => Buffer;
  deserialize: (b: Buffer) => Res;
}

const cache = new WeakMap<object, MethodCodecs<unknown, unknown>>();

export function codecs<Req, Res>(m: MethodDescriptor<Req, Res>): MethodCodecs<Req, Res> {
  let c = cache.get(m) as MethodCodecs<Req, Res> | undefined;
  if (!c) {
    const req = m.requestType;
    const res = m.responseType;
    c = { serialize: (v) => encodeMessage(req, v), deserialize: (b) => decodeMessage(res, b) };
    cache.set(m, c as MethodCodecs<unknown, unknown>);
  }
  return c;
}
