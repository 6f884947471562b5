// Endpoint auto-sync: the client URLs of the cluster's voting members (learners serve only
// serializable reads and Status, so they are skipped), read with MemberList.

import type { Member } from '../cluster/cluster.js';

/** The endpoints to use for a member list: every client URL of every started, voting member. */
export function endpointsFromMembers(members: readonly Member[]): string[] {
  const out: string[] = [];
  for (const m of members) {
    if (m.isLearner) continue;
    for (const u of m.clientURLs) if (!out.includes(u)) out.push(u);
  }
  return out;
}
