// --initial-cluster: parsing ("name=url,name=url2,other=url3") and the checks etcd makes when a
// member bootstraps (only when its data directory holds no member yet: a restarted member ignores
// --initial-cluster, so these run at start-up, not in parseConfig). Errors carry etcd's texts.
// URL comparison resolves "localhost" to 127.0.0.1 instead of doing the DNS lookups etcd does.

import { goQuoteList } from '../log/index.js';
import { startupError, type ConfigError } from './errors.js';
import { parseUrlList, type EtcdUrl } from './go-values.js';
import type { ServerConfig } from './types.js';

export type InitialCluster = ReadonlyMap<string, readonly EtcdUrl[]>;

/**
 * Parses an initial-cluster string as etcd's types.NewURLsMap: entries split on ",", each
 * "name=url" (a name may repeat to give several URLs), URLs validated and sorted per name.
 * Throws an Error with etcd's URL message.
 */
export function parseInitialCluster(s: string): InitialCluster {
  const raw = new Map<string, string[]>();
  for (const entry of s.split(',')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const name = eq >= 0 ? entry.slice(0, eq) : entry;
    const url = eq >= 0 ? entry.slice(eq + 1) : '';
    raw.set(name, [...(raw.get(name) ?? []), url]);
  }
  const out = new Map<string, EtcdUrl[]>();
  for (const name of [...raw.keys()].sort()) out.set(name, parseUrlList((raw.get(name) ?? []).join(','), false));
  return out;
}

/** types.URLsMap.String(): sorted "name=url" pairs joined by ",". */
export function initialClusterString(cluster: InitialCluster): string {
  const pairs: string[] = [];
  for (const [name, urls] of cluster) for (const u of urls) pairs.push(`${name}=${u.href}`);
  return pairs.sort().join(',');
}

/** The member list a new member bootstraps with; throws ConfigError (etcd: "error setting up initial cluster: ..."). */
export function resolveInitialCluster(cfg: ServerConfig): InitialCluster {
  try {
    return parseInitialCluster(cfg.initialCluster);
  } catch (e) {
    throw startupError(`error setting up initial cluster: ${(e as Error).message}`, cfg.logger);
  }
}

function resolved(href: string): string {
  return href.replace(/^(\w+:\/\/)localhost(?=:)/, '$1127.0.0.1');
}

function urlStringsEqual(a: readonly string[], b: readonly string[]): string | undefined {
  if (a.length !== b.length) return `len(${goQuoteList(a)}) != len(${goQuoteList(b)})`;
  const ra = a.map(resolved).sort();
  const rb = b.map(resolved).sort();
  for (let i = 0; i < ra.length; i++) {
    if (ra[i] !== rb[i]) return `resolved urls: "${ra[i] ?? ''}" != "${rb[i] ?? ''}"`;
  }
  return undefined;
}

function hasDuplicateUrl(cluster: InitialCluster): boolean {
  const seen = new Set<string>();
  for (const urls of cluster.values()) {
    for (const u of urls) {
      if (seen.has(u.href)) return true;
      seen.add(u.href);
    }
  }
  return false;
}

/**
 * etcd's VerifyBootstrap (--initial-cluster-state=new) / VerifyJoinExisting (existing), run before a
 * member without data joins or creates a cluster. Returns the parsed initial cluster.
 */
export function verifyBootstrap(cfg: ServerConfig): InitialCluster {
  const cluster = resolveInitialCluster(cfg);
  const fail = (msg: string): ConfigError => startupError(msg, cfg.logger);
  const mine = cluster.get(cfg.name);
  if (mine === undefined) throw fail(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
  if (cfg.initialClusterState === 'new') {
    const urls = mine.map((u) => u.href).sort();
    const apurls = cfg.initialAdvertisePeerUrls.map((u) => u.href).sort();
    const mismatch = urlStringsEqual(apurls, urls);
    if (mismatch !== undefined) {
      const missing = [...new Set(urls)].filter((u) => !apurls.includes(u));
      if (missing.length > 0) {
        throw fail(
          `--initial-cluster has ${missing.map((u) => `${cfg.name}=${u}`).join(',')} but missing from --initial-advertise-peer-urls=${apurls.join(',')} (${mismatch})`,
        );
      }
      const own = initialClusterString(new Map([[cfg.name, cfg.initialAdvertisePeerUrls]]));
      const extra = [...new Set(apurls)].filter((u) => !urls.includes(u));
      if (extra.length > 0) {
        throw fail(`--initial-advertise-peer-urls has ${extra.join(',')} but missing from --initial-cluster=${own}`);
      }
      throw fail(`failed to resolve ${apurls.join(',')} to match --initial-cluster=${own} (${mismatch})`);
    }
  }
  if (hasDuplicateUrl(cluster)) throw fail(`initial cluster ${initialClusterString(cluster)} has duplicate url`);
  if (cfg.initialClusterState === 'new' && initialClusterString(cluster) === '') {
    throw fail('initial cluster unset and no discovery URL found');
  }
  return cluster;
}
