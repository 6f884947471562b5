// Fault injection for tests (named, reachable from outside the process): when CONCLAVE_FAULTS_FILE
// names a JSON file, the peer transport reads it every 50 ms. {"block": ["<member id hex>", ...]}
// drops every Raft message to and from those members (a partition; asymmetric when only one side
// lists the other); {"delayMs": N} delays every outgoing message. Without the variable nothing is read.

import { readFileSync, statSync } from 'node:fs';

export interface FaultState {
  blocked: ReadonlySet<bigint>;
  delayMs: number;
}

const NONE: FaultState = { blocked: new Set(), delayMs: 0 };

export class PeerFaults {
  private state: FaultState = NONE;
  private mtime = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly file: string | undefined = process.env['CONCLAVE_FAULTS_FILE']) {
    if (!file) return;
    this.reload();
    this.timer = setInterval(() => this.reload(), 50);
    this.timer.unref();
  }

  private reload(): void {
    try {
      const st = statSync(this.file!);
      if (st.mtimeMs === this.mtime) return;
      this.mtime = st.mtimeMs;
      const o = JSON.parse(readFileSync(this.file!, 'utf8')) as { block?: string[]; delayMs?: number };
      this.state = { blocked: new Set((o.block ?? []).map((h) => BigInt(`0x${h}`))), delayMs: o.delayMs ?? 0 };
    } catch {
      // Missing or half-written file: no faults (the writer renames a complete file into place).
      if (this.mtime !== -1) this.state = NONE;
      this.mtime = -1;
    }
  }

  blocked(id: bigint): boolean {
    return this.state.blocked.has(id);
  }

  get delayMs(): number {
    return this.state.delayMs;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
