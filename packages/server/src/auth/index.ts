// Auth (etcd's auth package and the server around it): users with bcrypt password hashes, roles
// with key-range permissions, the enabled flag and auth revision, all changed through Raft and kept
// in the backend; simple and JWT tokens; the caller's identity from a token or a TLS client
// certificate; permission checks before proposing, while serving reads and when applying.

export { Auth, type AuthOptions, type ProposeAuth } from './auth.js';
export { AuthStore, ROOT_ROLE, ROOT_USER } from './store.js';
export { authNameKey, recordName } from './named-records.js';
export { createTokenProvider, type TokenConfig } from './tokens.js';
export { AuthConfigError, type AuthInfo, type TokenProvider } from './token-provider.js';
export { SimpleTokenProvider } from './simple-token.js';
export { JwtTokenProvider, parseJwtSignMethod } from './jwt-token.js';
export { bcrypt, hashPassword, verifyPassword, DEFAULT_COST as DEFAULT_BCRYPT_COST } from './bcrypt.js';
export { goStatusText, unmappedAuthError } from './errors.js';
export { guardClusterService, guardKVService, guardLeaseService, guardMaintenanceService } from './service-guards.js';
