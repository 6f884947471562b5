// tls/ — TLS for the client and peer listeners from etcd's flags: Node TLS options from
// --cert-file/--key-file/--trusted-ca-file/--client-cert-auth and their --peer-* twins,
// --cipher-suites (Go names to OpenSSL's), the allowed CN/hostname and CRL checks after the
// handshake with etcd's "rejected connection" reports, etcd's per-URL scheme checks, and --auto-tls/--peer-auto-tls
// self-signed certificates (built with a small DER encoder, as Node has no X.509 writer) stored
// and reused like etcd's <data-dir>/fixtures/{client,peer}/{cert,key}.pem.

export {
  serverTlsOptions,
  clientTlsOptions,
  describeTlsInfo,
  tlsInfoEmpty,
  resolveListenerTls,
  checkListenerUrls,
  type TlsInfo,
  type ListenUrlLike,
} from './tls-options.js';
export {
  generateSelfSignedCertificate,
  selfCert,
  type SelfSignedOptions,
  type SelfSignedCertificate,
  type SelfCertOptions,
  type SelfCertFiles,
  type CurveName,
  type ExtKeyUsage,
} from './self-signed.js';
export { cipherOptions, CipherSuiteError, type CipherOptions } from './cipher-suites.js';
export { checkCrl, parseCrlSerials } from './crl.js';
export {
  BAD_CERTIFICATE_ALERT,
  checkCertPolicy,
  checkConnection,
  listenerChecks,
  rejectedConnectionFields,
  remoteAlertError,
  type CertPolicy,
  type Refusal,
} from './cert-policy.js';
