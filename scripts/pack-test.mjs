#!/usr/bin/env node
// `npm run test:pack`: the published packages as a user gets them. Builds, packs @conclave/api,
// server, client and concurrency with `npm pack`, checks each tarball's contents and metadata,
// installs the tarballs into a temporary project outside the repository and there runs an ES
// module consumer and a CommonJS consumer (embedded server, put/get, a lock), `tsc --noEmit` with
// skipLibCheck: false over an ESM and a CommonJS TypeScript consumer, `npx conclave --version`,
// and the error an unsupported Node gets. Consumers: test/package/consumer/.
//   node scripts/pack-test.mjs [--keep]   (--keep leaves the temporary project for inspection)

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PUBLISHED } from './build.mjs';
import { ensureInstalled } from './ensure.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const keep = process.argv.includes('--keep');
const failures = [];
const fail = (msg) => failures.push(msg);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  return r;
}

let stepNo = 0;
const STEPS = 6;
function step(label) {
  stepNo += 1;
  console.log(`> pack test ${stepNo}/${STEPS}: ${label}`);
}

ensureInstalled();
const tmp = mkdtempSync(join(tmpdir(), 'conclave-pack-'));
try {
  step('build (node scripts/build.mjs)');
  run(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });

  step('npm pack, contents and metadata');
  const tgzDir = join(tmp, 'tgz');
  mkdirSync(tgzDir);
  const names = PUBLISHED.map(({ dir }) => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'))).name);
  const packed = JSON.parse(
    run('npm', ['pack', '--json', '--pack-destination', tgzDir, ...names.flatMap((n) => ['-w', n])], { cwd: root })
      .stdout,
  );
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const p of packed) {
    const files = p.files.map((f) => f.path);
    for (const need of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']) {
      if (!files.includes(need)) fail(`${p.name}: ${need} is not in the tarball`);
    }
    for (const f of files) {
      if (/(^|\/)(src|testing|bench|scripts)\/|\.test\.|\.tsbuildinfo$/.test(f)) fail(`${p.name}: ships ${f}`);
    }
    const pkg = JSON.parse(readFileSync(join(root, 'packages', p.name.split('/')[1], 'package.json'), 'utf8'));
    for (const field of ['description', 'keywords', 'repository', 'engines', 'license', 'files']) {
      if (pkg[field] === undefined) fail(`${p.name}: package.json has no "${field}"`);
    }
    if (pkg.engines?.node !== rootPkg.engines.node) fail(`${p.name}: engines.node differs from the root's`);
    if (
      readFileSync(join(root, 'packages', p.name.split('/')[1], 'LICENSE'), 'utf8') !==
      readFileSync(join(root, 'LICENSE'), 'utf8')
    ) {
      fail(`${p.name}: LICENSE differs from the root LICENSE`);
    }
  }

  step('install the tarballs into a project outside the repository');
  const app = join(tmp, 'app');
  cpSync(join(root, 'test/package/consumer'), app, { recursive: true });
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true }, null, 2)}\n`);
  const typesNode = JSON.parse(readFileSync(join(root, 'node_modules/@types/node/package.json'), 'utf8')).version;
  const tarballs = packed.map((p) => join(tgzDir, p.filename));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, `@types/node@${typesNode}`], {
    cwd: app,
  });
  // Shipped files must not point back at the build machine or this repository's layout.
  const scan = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) scan(path);
      else {
        const text = readFileSync(path, 'utf8');
        if (text.includes(root)) fail(`${path.slice(app.length + 1)} contains the build path ${root}`);
        if (/\.\.\/shared\/|\/work\/shared/.test(text)) fail(`${path.slice(app.length + 1)} refers to ../shared`);
      }
    }
  };
  scan(join(app, 'node_modules/@conclave'));

  step('run the ES module and CommonJS consumers, and npx conclave --version');
  for (const file of ['esm.mjs', 'cjs.cjs']) {
    const r = run(process.execPath, [file], { cwd: app, allowFail: true, timeout: 60_000 });
    if (r.status !== 0) fail(`node ${file} failed:\n${r.stdout}${r.stderr}`);
    else process.stdout.write(`  ${r.stdout}`);
  }
  const version = run('npx', ['--no-install', 'conclave', '--version'], { cwd: app, allowFail: true });
  if (version.status !== 0 || !version.stdout.includes('conclave Version: ')) {
    fail(`npx conclave --version failed:\n${version.stdout}${version.stderr}`);
  } else console.log(`  ${version.stdout.split('\n')[0]}`);

  step('tsc --noEmit over the TypeScript consumers (skipLibCheck: false)');
  const tsc = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], {
    cwd: app,
    allowFail: true,
  });
  if (tsc.status !== 0) fail(`tsc over the consumers failed:\n${tsc.stdout}${tsc.stderr}`);

  step('an unsupported Node gets an error naming the supported range');
  const range = rootPkg.engines.node;
  const fakeOld =
    "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'18.20.0'});Object.defineProperty(process,'version',{value:'v18.20.0'})";
  for (const [what, args] of [
    ['import', ['--import', fakeOld, 'esm.mjs']],
    ['conclave', ['--import', fakeOld, 'node_modules/@conclave/server/bin/conclave.js', '--version']],
    ['require on an old Node', ['node_modules/@conclave/client/dist/require.cjs']],
  ]) {
    const r = run(process.execPath, args, { cwd: app, allowFail: true });
    if (r.status === 0 || !r.stderr.includes(`needs Node.js ${range}`)) {
      fail(`${what}: expected an error naming ${range}, got:\n${r.stdout}${r.stderr}`);
    }
  }
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
} finally {
  if (keep) console.log(`(kept ${tmp})`);
  else rmSync(tmp, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`\npack test: ${failures.length} problem(s)\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('pack test: ok');
