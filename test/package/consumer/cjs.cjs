// A CommonJS consumer of the packed packages (run by scripts/pack-test.mjs in a project outside the
// repository): require() loads the ES module builds (Node 20.19+, 22.12+), then the round trip of
// round-trip.cjs, as esm.mjs does after import.
const { etcdserverpb } = require('@conclave/api');
const { Client } = require('@conclave/client');
const { Mutex, Session } = require('@conclave/concurrency');
const { startServer } = require('@conclave/server');
const { roundTrip } = require('./round-trip.cjs');

roundTrip('cjs', { etcdserverpb, Client, Mutex, Session, startServer }).catch((err) => {
  console.error(err);
  process.exit(1);
});
