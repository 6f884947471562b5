// --client-crl-file / --peer-crl-file, as etcd 3.4 checks them: after the TLS handshake the CRL
// file is read again (so a replaced file takes effect at once), and the connection is refused when
// the serial number of any certificate the other side presented is listed as revoked. Like etcd,
// the CRL's issuer and signature are not checked, and an unreadable or unparsable file refuses
// every connection (the member still starts) with Go's error text.

import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { readChildren, readTlv, TAG } from './asn1.js';

/** Revoked serial numbers of a CRL (PEM "X509 CRL" or DER), as unsigned big-endian hex without leading zeros. */
export function parseCrlSerials(data: Buffer): Set<string> {
  const text = data.toString('latin1');
  const pem = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(text);
  const der = pem ? Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64') : data;
  const list = readTlv(der);
  if (list.tag !== TAG.SEQUENCE) throw new Error('x509: malformed crl');
  const tbs = readChildren(list.content)[0];
  if (tbs?.tag !== TAG.SEQUENCE) throw new Error('x509: malformed tbs crl');
  // version INTEGER OPTIONAL, signature, issuer, thisUpdate, nextUpdate OPTIONAL, revoked OPTIONAL, [0] extensions
  let fields = readChildren(tbs.content);
  if (fields[0]?.tag === TAG.INTEGER) fields = fields.slice(1);
  fields = fields.slice(3); // signature algorithm, issuer, thisUpdate
  if (fields[0] && (fields[0].tag === TAG.UTC_TIME || fields[0].tag === TAG.GENERALIZED_TIME)) fields = fields.slice(1);
  const serials = new Set<string>();
  const revoked = fields[0];
  if (revoked?.tag !== TAG.SEQUENCE) return serials;
  for (const entry of readChildren(revoked.content)) {
    const serial = readChildren(entry.content)[0];
    if (serial?.tag !== TAG.INTEGER) throw new Error('x509: malformed crl entry');
    serials.add(serialKey(serial.content.toString('hex')));
  }
  return serials;
}

/** A serial number as etcd compares it (big.Int.Bytes(): the magnitude without leading zero bytes). */
function serialKey(hex: string): string {
  const s = hex.replace(/^(00)+/, '').toLowerCase();
  return s === '' ? '00' : s;
}

/** Go's *PathError text for a failed open ("open /x: no such file or directory"). */
function goOpenError(path: string, err: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
  };
  return `open ${path}: ${why[err.code ?? ''] ?? err.message}`;
}

/**
 * etcd's checkCRL: undefined when none of the presented certificates is revoked, else the error
 * the connection is refused with ("transport: certificate serial <hex> revoked", or why the file
 * could not be read).
 */
export function checkCrl(path: string, chain: readonly PeerCertificate[]): Error | undefined {
  let serials: Set<string>;
  try {
    serials = parseCrlSerials(readFileSync(path));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return new Error(e.syscall === 'open' ? goOpenError(path, e) : e.message);
  }
  for (const cert of chain) {
    const key = serialKey(cert.serialNumber ?? '');
    // Go formats the serial (a *big.Int) with %x: no leading zero nibble
    if (serials.has(key)) return new Error(`transport: certificate serial ${BigInt(`0x${key}`).toString(16)} revoked`);
  }
  return undefined;
}

/** The certificates the other side presented: the leaf and every issuer it sent or Node resolved. */
export function presentedChain(leaf: PeerCertificate | Record<string, never>): PeerCertificate[] {
  const out: PeerCertificate[] = [];
  let c: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = leaf as PeerCertificate;
  const seen = new Set<string>();
  while (c?.raw && !seen.has(c.fingerprint256)) {
    out.push(c);
    seen.add(c.fingerprint256);
    c = c.issuerCertificate;
  }
  return out;
}
