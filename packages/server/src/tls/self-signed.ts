// --auto-tls / --peer-auto-tls: a self-signed certificate like the one etcd 3.4's
// transport.SelfCert writes to <data-dir>/fixtures/{client,peer}/cert.pem + key.pem, and reuses
// on restart when both files exist. Observed from etcd 3.4.23: X.509 v3, random 128-bit serial,
// subject = issuer = O=etcd, valid from now for 365 days, ECDSA P-521 key signed with
// ecdsa-with-SHA512, KeyUsage (critical) digitalSignature+keyEncipherment, ExtKeyUsage serverAuth,
// BasicConstraints (critical) CA:FALSE, SANs from the listen URLs' hosts (DNS names, then IPs);
// the key is written as a SEC1 "EC PRIVATE KEY" PEM with mode 0600.
// Conclave also adds localhost, 127.0.0.1 and ::1 to the SANs, and clientAuth for peer certs.

import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import {
  bitString,
  boolean,
  directoryString,
  explicit,
  implicitPrimitive,
  integer,
  namedBits,
  octetString,
  oid,
  sequence,
  set,
  time,
} from './asn1.js';

export type CurveName = 'P-256' | 'P-384' | 'P-521';
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

const CURVES: Readonly<Record<CurveName, { node: string; hash: string; sigOid: string }>> = {
  'P-256': { node: 'prime256v1', hash: 'sha256', sigOid: '1.2.840.10045.4.3.2' },
  'P-384': { node: 'secp384r1', hash: 'sha384', sigOid: '1.2.840.10045.4.3.3' },
  'P-521': { node: 'secp521r1', hash: 'sha512', sigOid: '1.2.840.10045.4.3.4' },
};

const OID = {
  organizationName: '2.5.4.10',
  commonName: '2.5.4.3',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export interface SelfSignedOptions {
  /** Listen hosts, "host:port" or bare ("127.0.0.1:2379", "[::1]:2380", "localhost"). */
  hosts: readonly string[];
  /** Default "P-521", etcd 3.4's choice (signature hash follows the curve: SHA-256/384/512). */
  curve?: CurveName;
  /** Default 365. */
  validityDays?: number;
  /** Subject/issuer O=; default "etcd". */
  organization?: string;
  /** Subject/issuer CN= (etcd sets none; useful for client certificates checked by --peer-cert-allowed-cn). */
  commonName?: string;
  /** Default ["serverAuth"], as etcd. */
  extKeyUsage?: readonly ExtKeyUsage[];
  /** Add localhost, 127.0.0.1 and ::1 to the SANs (default true). */
  includeLoopback?: boolean;
  /** Start of validity (default now); truncated to seconds. */
  now?: Date;
  /** Default: random, below 2^128. */
  serial?: bigint;
}

export interface SelfSignedCertificate {
  certPem: string;
  keyPem: string;
  certDer: Buffer;
  privateKey: KeyObject;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
}

function pem(label: string, der: Buffer): string {
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** IPv4 as 4 bytes, IPv6 as 16 (the iPAddress SAN form). */
export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail] = ip.split('::');
  const parse = (s: string): number[] => {
    if (s === '') return [];
    const groups = s.split(':');
    const last = groups[groups.length - 1] ?? '';
    const words: number[] = [];
    for (const g of groups.slice(0, isIP(last) === 4 ? -1 : undefined)) words.push(parseInt(g, 16));
    if (isIP(last) === 4) {
      const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
      words.push((a << 8) | b, (c << 8) | d);
    }
    return words;
  };
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const words = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const buf = Buffer.alloc(16);
  words.forEach((w, i) => buf.writeUInt16BE(w, i * 2));
  return buf;
}

/** The SAN host of a listen address, as etcd takes it (net.SplitHostPort's host). */
export function sanHost(hostport: string): string {
  const bracket = /^\[([^\]]*)\](?::\d*)?$/.exec(hostport);
  if (bracket !== null) return bracket[1] ?? '';
  const colon = hostport.lastIndexOf(':');
  if (colon >= 0 && !hostport.slice(0, colon).includes(':')) return hostport.slice(0, colon);
  return hostport;
}

/** Builds and signs a self-signed certificate (synchronous; no files). */
export function generateSelfSignedCertificate(opts: SelfSignedOptions): SelfSignedCertificate {
  const curve = CURVES[opts.curve ?? 'P-521'];
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve.node });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });

  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const hosts = [
    ...opts.hosts.map(sanHost),
    ...(opts.includeLoopback === false ? [] : ['localhost', '127.0.0.1', '::1']),
  ];
  for (const h of hosts) {
    if (h === '') continue;
    const list = isIP(h) !== 0 ? ipAddresses : dnsNames;
    if (!list.includes(h)) list.push(h);
  }

  const notBefore = new Date(Math.floor((opts.now ?? new Date()).getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + (opts.validityDays ?? 365) * 86_400_000);
  const serial = opts.serial ?? (BigInt(`0x${randomBytes(16).toString('hex')}`) || 1n);
  const rdns = [set(sequence(oid(OID.organizationName), directoryString(opts.organization ?? 'etcd')))];
  if (opts.commonName !== undefined) rdns.push(set(sequence(oid(OID.commonName), directoryString(opts.commonName))));
  const name = sequence(...rdns);
  const sigAlg = sequence(oid(curve.sigOid));
  const ext = (id: string, critical: boolean, value: Buffer): Buffer =>
    critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
  const usages = opts.extKeyUsage ?? ['serverAuth'];
  const extensions = [
    ext(OID.keyUsage, true, namedBits([0, 2])), // digitalSignature, keyEncipherment
    ext(OID.extKeyUsage, false, sequence(...usages.map((u) => oid(OID[u])))),
    ext(OID.basicConstraints, true, sequence()), // CA:FALSE
  ];
  if (dnsNames.length + ipAddresses.length > 0) {
    const names = [
      ...dnsNames.map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
      ...ipAddresses.map((ip) => implicitPrimitive(7, ipBytes(ip))),
    ];
    extensions.push(ext(OID.subjectAltName, false, sequence(...names)));
  }
  const tbs = sequence(
    explicit(0, integer(2)), // v3
    integer(serial),
    sigAlg,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, sequence(...extensions)),
  );
  const signature = sign(curve.hash, tbs, privateKey); // DER ECDSA-Sig-Value
  const certDer = sequence(tbs, sigAlg, bitString(signature));
  return {
    certPem: pem('CERTIFICATE', certDer),
    keyPem: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
    certDer,
    privateKey,
    dnsNames,
    ipAddresses,
    notBefore,
    notAfter,
  };
}

export interface SelfCertOptions extends Omit<SelfSignedOptions, 'now' | 'serial'> {
  /** Directory for cert.pem and key.pem (etcd: <data-dir>/fixtures/client or /peer). */
  dir: string;
  /** Logs "created cert file" / "created key file" as etcd does. */
  logger?: Logger;
}

export interface SelfCertFiles {
  certFile: string;
  keyFile: string;
  /** False when existing files were reused. */
  created: boolean;
}

/** etcd's transport.SelfCert: reuse dir/cert.pem + dir/key.pem if both exist, else generate and write them. */
export function selfCert(opts: SelfCertOptions): SelfCertFiles {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const certFile = join(opts.dir, 'cert.pem');
  const keyFile = join(opts.dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile, created: false };
  const cert = generateSelfSignedCertificate(opts);
  writeFileSync(certFile, cert.certPem, { mode: 0o644 });
  opts.logger?.info('created cert file', { path: certFile });
  writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
  opts.logger?.info('created key file', { path: keyFile });
  return { certFile, keyFile, created: true };
}
