// --log-package-levels with the zap logger (Conclave's default), against etcd 3.4 (etcd 3.5 no
// longer has the flag): etcd prints its deprecation warning and otherwise ignores the value —
// levels stay as --log-level says (no debug lines), even a value capnslog could not parse starts.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';

const servers: ServerProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe('--log-package-levels with --logger=zap', () => {
  for (const value of ['etcdserver=DEBUG,*=DEBUG', 'not a level list']) {
    test(`${value}: etcd's warning, then ignored`, async () => {
      for (const kind of ['etcd', 'conclave'] as ServerKind[]) {
        const s = await startServer(kind, { args: ['--logger=zap', `--log-package-levels=${value}`] });
        servers.push(s);
        const log = s.log();
        assert.ok(
          log.includes(
            `[WARNING] Deprecated '--log-package-levels=${value}' flag is set; use '--logger=zap' flag instead`,
          ),
          kind,
        );
        assert.doesNotMatch(log, /"level":"debug"/, kind);
      }
    });
  }
});
