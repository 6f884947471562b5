// A one-member cluster started inside the test process (startMember), for tests that look into the
// member's server (store, compactor, watch hub) as well as calling it: every URL on loopback port 0,
// the ports the member bound read back from it.

import { parseConfig } from '../../packages/server/src/config/index.js';
import { startMember, type MemberHandle } from '../../packages/server/src/embed/start.js';

/** The flags of a member named default, its data in `dataDir`, every URL http://127.0.0.1:0, then `extra`. */
export function loopbackFlags(dataDir: string, extra: string[] = []): string[] {
  return [
    `--data-dir=${dataDir}`,
    '--listen-client-urls=http://127.0.0.1:0',
    '--advertise-client-urls=http://127.0.0.1:0',
    '--listen-peer-urls=http://127.0.0.1:0',
    '--initial-advertise-peer-urls=http://127.0.0.1:0',
    '--initial-cluster=default=http://127.0.0.1:0',
    ...extra,
  ];
}

/** Starts that member in this process; `endpoint` is the host:port its clients dial. */
export async function startInProcess(
  dataDir: string,
  extra: string[] = [],
  opts: Parameters<typeof startMember>[1] = {},
): Promise<{ member: MemberHandle; endpoint: string }> {
  const member = await startMember(parseConfig(loopbackFlags(dataDir, extra), {}), opts);
  return { member, endpoint: member.clientUrls[0]!.replace(/^\w+:\/\//, '') };
}
