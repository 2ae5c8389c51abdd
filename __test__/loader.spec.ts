// Loading the addon: the platform packages match napi.targets, the error when no binary loads says what to
// do, and the ES-module and CommonJS builds export the same API.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { currentPlatform, platformOfTriple, supportedPlatforms } from '../src/native/load.js';
import { REPO_ROOT } from './helpers.js';

interface Manifest {
  name: string;
  version: string;
  engines: { node: string };
  napi: { binaryName: string; targets: string[] };
  scripts: Record<string, string>;
}
const read = (file: string): Manifest => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')) as Manifest;

test('every napi target has its npm/<platform> package, named, versioned and constrained like the root', (t) => {
  const root = read('package.json');
  const platforms = root.napi.targets.map(platformOfTriple);
  t.deepEqual(platforms, [
    'linux-x64-gnu',
    'linux-arm64-gnu',
    'linux-x64-musl',
    'linux-arm64-musl',
    'darwin-x64',
    'darwin-arm64',
    'freebsd-x64',
  ]);
  t.deepEqual(fs.readdirSync(path.join(REPO_ROOT, 'npm')).sort(), [...platforms].sort());
  for (const platform of platforms) {
    const pkg = read(`npm/${platform}/package.json`) as Manifest & {
      os: string[];
      cpu: string[];
      libc?: string[];
      main: string;
      files: string[];
    };
    const [os, cpu, libc] = platform.split('-');
    t.is(pkg.name, `${root.name}-${platform}`);
    t.is(pkg.version, root.version);
    t.deepEqual(pkg.os, [os]);
    t.deepEqual(pkg.cpu, [cpu]);
    t.deepEqual(pkg.libc, libc === undefined ? undefined : [libc === 'gnu' ? 'glibc' : 'musl']);
    t.is(pkg.main, `${root.napi.binaryName}.${platform}.node`);
    t.deepEqual(pkg.files, [pkg.main]);
    t.is(pkg.engines.node, root.engines.node);
    t.is((pkg as { scripts?: unknown }).scripts, undefined, `${platform} has no scripts`);
  }
  for (const hook of ['preinstall', 'install', 'postinstall']) t.is(root.scripts[hook], undefined, hook);
  t.deepEqual(supportedPlatforms(), platforms);
});

test('the generated loader tries each platform package by name', (t) => {
  const loader = fs.readFileSync(path.join(REPO_ROOT, 'native.cjs'), 'utf8');
  for (const platform of read('package.json').napi.targets.map(platformOfTriple)) {
    t.true(loader.includes(`require('unixgram-${platform}')`), platform);
    t.true(loader.includes(`require('./unixgram.${platform}.node')`), platform);
  }
});

test('with no loadable binary, importing unixgram says which platform, which are supported, and how to build', (t) => {
  const script = `import(${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'src', 'index.ts')).href)}).then(
    () => console.log('loaded'),
    (err) => { console.log(JSON.stringify({ code: err.code, message: err.message, cause: String(err.cause?.message) })); });`;
  const result = spawnSync(process.execPath, ['--import=tsx', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: '/nonexistent/unixgram.node' },
  });
  const err = JSON.parse(result.stdout) as { code: string; message: string; cause: string };
  t.is(err.code, 'ERR_UNIXGRAM_NO_BINARY');
  t.true(err.message.startsWith(`unixgram could not load its native addon on ${currentPlatform()}: `), err.message);
  t.regex(
    err.message,
    /the package unixgram-linux-x64-gnu is missing or failed to load|prebuilt binaries exist for linux-x64-gnu, linux-arm64-gnu, linux-x64-musl/,
  );
  t.regex(err.message, /Rust toolchain \(https:\/\/rustup\.rs\).*npm ci.*npm install \/path\/to\/that\/clone/);
  t.regex(err.cause, /Cannot find native binding/);
});

test('the CommonJS build (require) and the ES-module build (import) export the same names', async (t) => {
  const esmEntry = path.join(REPO_ROOT, 'dist', 'index.js');
  const cjsEntry = path.join(REPO_ROOT, 'dist', 'cjs', 'index.js');
  if (!fs.existsSync(esmEntry) || !fs.existsSync(cjsEntry)) return t.fail('run npm run build:ts first');
  const esm = (await import(pathToFileURL(esmEntry).href)) as Record<string, unknown>;
  const cjs = createRequire(import.meta.url)(cjsEntry) as Record<string, unknown>;
  t.deepEqual(
    Object.keys(cjs)
      .filter((k) => k !== '__esModule')
      .sort(),
    Object.keys(esm).sort(),
  );
  t.is(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'dist', 'cjs', 'package.json'), 'utf8')).type, 'commonjs');
  // The addon is one instance for both: native.cjs is a CommonJS module, cached once.
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      `
    const cjs = require(${JSON.stringify(cjsEntry)});
    import(${JSON.stringify(pathToFileURL(esmEntry).href)}).then((esm) => {
      const [a, b] = cjs.UnixDatagramClient.socketpair(new esm.DatagramProtocol(new esm.StringSerializer()));
      a.sendPacketSync('both'); console.log(b.recvPacketSync({ timeout: 5 })); a.close(); b.close();
    });`,
    ],
    { encoding: 'utf8' },
  );
  t.is(out.trim(), 'both');
});
