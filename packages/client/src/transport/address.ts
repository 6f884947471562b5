// The host and port of an endpoint address, as the transports dial it.

/** Splits "host:port" / "[v6]:port"; `port` is undefined when absent. */
export function splitHostPort(address: string): { host: string; port: string | undefined } {
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(address);
  if (v6) return { host: v6[1]!, port: v6[2] };
  const i = address.lastIndexOf(':');
  if (i >= 0 && address.indexOf(':') === i) return { host: address.slice(0, i), port: address.slice(i + 1) };
  // a bare IPv6 address (several colons, no brackets) has no port
  return { host: address, port: undefined };
}
