// An ES module consumer of the packed packages (run by scripts/pack-test.mjs in a project outside
// the repository): import loads them, then the round trip of round-trip.cjs (an embedded server, a
// key written and read back, a lock taken and released), as cjs.cjs does after require().
import { etcdserverpb } from '@conclave/api';
import { Client } from '@conclave/client';
import { Mutex, Session } from '@conclave/concurrency';
import { startServer } from '@conclave/server';
import { roundTrip } from './round-trip.cjs';

await roundTrip('esm', { etcdserverpb, Client, Mutex, Session, startServer });
