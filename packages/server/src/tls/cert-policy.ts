// What etcd checks about the certificate of a connecting client or peer beyond its chain, and how
// a refusal is reported:
//   --peer-cert-allowed-cn / --peer-cert-allowed-hostname / --client-cert-allowed-hostname: with
//     client-cert auth on, the verified leaf must carry that CommonName, or be valid for that host
//     name or IP (Go's VerifyHostname: SANs only, wildcards as the whole leftmost label); they are
//     mutually exclusive. Refused with "client certificate authentication failed".
//   --client-crl-file / --peer-crl-file: see crl.ts.
// etcd logs every refused connection as "rejected connection" with the remote address and the
// certificate's IPs and DNS names. Go refuses a certificate during the handshake with a "bad
// certificate" alert, which the other member logs as "remote error: tls: bad certificate"; Node
// checks certificates only after its handshake and cannot send an alert then, so a Conclave peer
// listener sends the same alert record inside the established connection, and the dialing member
// reports it with Go's text (peer/upgrade.ts).

import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { goQuote } from '../log/index.js';
import { checkCrl, presentedChain } from './crl.js';

export interface CertPolicy {
  /** Required CommonName ("" = none). */
  readonly allowedCn: string;
  /** Required host name or IP ("" = none). */
  readonly allowedHostname: string;
  /** CRL file ("" = none). */
  readonly crlFile: string;
  /** Client certificates are requested and verified (--client-cert-auth / --peer-client-cert-auth). */
  readonly clientCertAuth: boolean;
}

/** etcd's error when both are set (start-up fails with it). */
export function checkCertPolicy(p: Pick<CertPolicy, 'allowedCn' | 'allowedHostname'>): string | undefined {
  if (p.allowedCn !== '' && p.allowedHostname !== '') {
    return `AllowedCN and AllowedHostname are mutually exclusive (cn=${goQuote(p.allowedCn)}, hostname=${goQuote(p.allowedHostname)})`;
  }
  return undefined;
}

/** How long a refused connection stays open for its alert to be read. */
const ALERT_LINGER_MS = 1000;

export const CLIENT_CERT_AUTH_FAILED = 'client certificate authentication failed';

/** A TLS alert record (fatal, bad_certificate), sent inside the connection by a refusing peer listener. */
export const BAD_CERTIFICATE_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2a]);

const ALERT_TEXT: Readonly<Record<number, string>> = {
  42: 'bad certificate',
  44: 'revoked certificate',
  45: 'expired certificate',
  46: 'unknown certificate',
  48: 'unknown certificate authority',
};

/** The error Go reports for an alert record at the start of `data`, or undefined when it is not one. */
export function remoteAlertError(data: Buffer): string | undefined {
  if (data.length < 7 || data[0] !== 0x15 || data[1] !== 0x03 || data[3] !== 0x00 || data[4] !== 0x02) return undefined;
  const desc = data[6]!;
  return `remote error: tls: ${ALERT_TEXT[desc] ?? `alert(${desc})`}`;
}

/** Go's x509 VerifyHostname against the SANs only (no CommonName fallback). */
function hostnameAllowed(cert: X509Certificate, host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (isIP(h)) return cert.checkIP(h) !== undefined;
  return cert.checkHost(h, { subject: 'never', wildcards: true, partialWildcards: false }) !== undefined;
}

export interface Refusal {
  error: Error;
  /** Go would have refused during the handshake with a bad_certificate alert. */
  alert: boolean;
}

/** Applies the policy to a connection whose handshake succeeded; undefined when it may proceed. */
export function checkConnection(s: TLSSocket, p: CertPolicy): Refusal | undefined {
  if (p.clientCertAuth && (p.allowedCn !== '' || p.allowedHostname !== '')) {
    const raw = s.getPeerCertificate().raw;
    let ok = false;
    if (s.authorized && raw) {
      const cert = new X509Certificate(raw);
      if (p.allowedCn !== '') {
        const cn = s.getPeerCertificate().subject?.CN;
        ok = (Array.isArray(cn) ? cn : [cn]).includes(p.allowedCn);
      } else {
        ok = hostnameAllowed(cert, p.allowedHostname);
      }
    }
    if (!ok) return { error: new Error(CLIENT_CERT_AUTH_FAILED), alert: true };
  }
  if (p.crlFile !== '') {
    const chain = presentedChain(s.getPeerCertificate(true));
    if (chain.length > 0) {
      const err = checkCrl(p.crlFile, chain);
      if (err) return { error: err, alert: false };
    }
  }
  return undefined;
}

/** Go's net.IP String() of an address as Node prints it in subjectAltName (IPv6 in full: "0:0:0:0:0:0:0:1" → "::1"). */
export function goIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  const groups = ip.split(':').map((g) => Number.parseInt(g || '0', 16).toString(16));
  if (groups.length !== 8) return ip.toLowerCase();
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The fields of etcd's "rejected connection" warning. */
export function rejectedConnectionFields(s: TLSSocket, err: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    'remote-addr': `${s.remoteAddress ?? ''}:${s.remotePort ?? ''}`,
    'server-name': (s as TLSSocket & { servername?: string | false }).servername || '',
  };
  const raw = s.getPeerCertificate().raw;
  if (raw) {
    const san = new X509Certificate(raw).subjectAltName ?? '';
    const parts = san === '' ? [] : san.split(', ');
    fields['ip-addresses'] = parts.filter((x) => x.startsWith('IP Address:')).map((x) => goIp(x.slice(11)));
    fields['dns-names'] = parts.filter((x) => x.startsWith('DNS:')).map((x) => x.slice(4));
  }
  fields['error'] = err.message;
  return fields;
}

/**
 * The `verify`/`reject` pair a listener uses for `info` (none when nothing is to be checked):
 * refused connections are logged as etcd's "rejected connection"; with `alert` (peer listeners) a
 * certificate refusal is answered with the bad_certificate alert record before closing.
 */
export function listenerChecks(
  info: {
    readonly allowedCn?: string;
    readonly allowedHostname?: string;
    readonly crlFile?: string;
    readonly clientCertAuth: boolean;
    readonly selfSigned?: boolean;
  },
  logger: { warn(msg: string, fields?: Record<string, unknown>): void },
  opts: { alert: boolean },
): { verify?: (s: TLSSocket) => Error | undefined; reject?: (s: TLSSocket, err: Error) => void } {
  const policy: CertPolicy = {
    allowedCn: info.allowedCn ?? '',
    allowedHostname: info.allowedHostname ?? '',
    crlFile: info.crlFile ?? '',
    clientCertAuth: info.clientCertAuth && info.selfSigned !== true,
  };
  if (policy.allowedCn === '' && policy.allowedHostname === '' && policy.crlFile === '') return {};
  const alerting = new WeakSet<Error>();
  return {
    verify: (s) => {
      const r = checkConnection(s, policy);
      if (!r) return undefined;
      logger.warn('rejected connection', rejectedConnectionFields(s, r.error));
      if (r.alert && opts.alert) alerting.add(r.error);
      return r.error;
    },
    reject: (s, err) => {
      if (!alerting.has(err)) return void s.destroy();
      // closed by the other side once it read the alert (reading on notices it); one that does not close is cut off
      s.resume();
      s.end(BAD_CERTIFICATE_ALERT);
      setTimeout(() => s.destroy(), ALERT_LINGER_MS).unref();
    },
  };
}
