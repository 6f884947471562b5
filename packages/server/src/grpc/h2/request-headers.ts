// Request header checks of RFC 9113 §8.2–8.3: a request whose header list breaks them is malformed,
// and the server answers it with a stream error of type PROTOCOL_ERROR (§8.1.1) before any handler
// sees it. One pass over the flat [name, value, ...] list a decoded header block gives.

/** Connection-specific fields (§8.2.2): meaningless in HTTP/2. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':path', ':authority']);

/** A field name is lowercase token characters (§8.2.1: uppercase makes a request malformed). */
function badName(name: string): boolean {
  if (name.length === 0) return true;
  for (let i = name.charAt(0) === ':' ? 1 : 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // tchar of RFC 9110 §5.6.2 without A-Z.
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e) continue;
    if (
      c === 0x21 ||
      (c >= 0x23 && c <= 0x27) ||
      c === 0x2a ||
      c === 0x2b ||
      c === 0x5e ||
      c === 0x60 ||
      c === 0x7c ||
      c === 0x7e
    )
      continue;
    return true;
  }
  return false;
}

/** A field value with NUL, CR or LF, or with leading or trailing whitespace (§8.2.1). */
function badValue(v: string): boolean {
  if (v.length === 0) return false;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return true;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return true;
  }
  return false;
}

/**
 * Why a request's headers (or, with `trailers`, its trailers) are malformed, or null when they are
 * not: a bad or uppercase name, a bad value, a connection-specific field, TE other than "trailers",
 * an unknown, repeated or late pseudo-header, a missing :method, :scheme or :path, an empty :path,
 * or any pseudo-header in trailers.
 */
export function malformedRequest(h: readonly string[], trailers: boolean): string | null {
  let regularSeen = false;
  let method: string | undefined;
  let scheme = false;
  let path: string | undefined;
  let authority = false;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    const value = h[i + 1]!;
    if (badName(name)) return `invalid header name ${JSON.stringify(name)}`;
    if (badValue(value)) return `invalid value of header ${name}`;
    if (name.charCodeAt(0) === 0x3a) {
      if (trailers) return `pseudo-header ${name} in trailers`;
      if (regularSeen) return `pseudo-header ${name} after a regular header`;
      if (!REQUEST_PSEUDO.has(name)) return `unknown pseudo-header ${name}`;
      if (name === ':method') {
        if (method !== undefined) return 'repeated :method';
        method = value;
      } else if (name === ':scheme') {
        if (scheme) return 'repeated :scheme';
        scheme = true;
      } else if (name === ':path') {
        if (path !== undefined) return 'repeated :path';
        path = value;
      } else {
        if (authority) return 'repeated :authority';
        authority = true;
      }
      continue;
    }
    regularSeen = true;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific header ${name}`;
    if (name === 'te' && value !== 'trailers') return `te: ${value}`;
  }
  if (trailers) return null;
  if (method === undefined) return 'missing :method';
  if (method === 'CONNECT') return null; // §8.5: :scheme and :path are omitted (and refused later)
  if (!scheme) return 'missing :scheme';
  if (path === undefined) return 'missing :path';
  if (path === '') return 'empty :path';
  return null;
}
