// Install like a user: pack the root package the way the release does (scripts/stage-package.mjs, then
// `npm pack` of the staged folder) and this platform's package (linux-x64-gnu here), install both tarballs
// into a fresh project with no Rust toolchain on PATH (and no network: --offline), with npm saying nothing
// about install scripts, then send and receive a datagram with an fd from an ES module and from a CommonJS
// script, and type-check a strict TypeScript consumer against each format's types.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES_DIR, REPO_ROOT } from './helpers.js';

interface Manifest {
  name: string;
  version: string;
  main?: string;
  files?: string[];
  scripts?: Record<string, string>;
  napi: { binaryName: string; targets: string[] };
  optionalDependencies?: Record<string, string>;
}

const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
/** This machine's platform package, e.g. linux-x64-gnu (the one `.ci/run` builds). */
const PLATFORM = `${process.platform}-${process.arch}${process.platform === 'linux' ? (glibc ? '-gnu' : '-musl') : ''}`;
const BINARY = path.join(REPO_ROOT, `unixgram.${PLATFORM}.node`);
const canRun = fs.existsSync(BINARY) && fs.existsSync(path.join(REPO_ROOT, 'npm', PLATFORM));
const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;

const RUST_TOOL = /^(cargo|rustc|rustup|rustdoc|rust-gdb|rust-lldb|rust-analyzer|clippy-driver|cargo-.*|rustfmt)$/;

/**
 * PATH with node, npm and the system's programs but no Rust toolchain. System dirs that hold none
 * are used as they are; one that does (/usr/bin once a distribution's `rustc` package is installed)
 * is replaced by a directory of links to everything in it except the Rust tools.
 */
function pathWithoutRust(shimRoot: string): string {
  const dirs = [...new Set([path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'])];
  return dirs
    .filter((dir) => fs.existsSync(dir))
    .map((dir, index) => {
      const entries = fs.readdirSync(dir);
      if (!entries.some((name) => RUST_TOOL.test(name))) return dir;
      const shim = path.join(shimRoot, `bin${index}`);
      fs.mkdirSync(shim, { recursive: true });
      for (const name of entries) {
        if (!RUST_TOOL.test(name)) fs.symlinkSync(path.join(dir, name), path.join(shim, name));
      }
      return shim;
    })
    .join(':');
}

/** The environment of the user's shell: no Rust, no inherited npm_* settings from the test runner's npm. */
function userEnv(home: string, shimRoot: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|CARGO|RUSTUP|RUSTC|NAPI_RS_|NODE_OPTIONS$)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = pathWithoutRust(shimRoot);
  env.npm_config_cache = path.join(os.homedir(), '.npm'); // the machine's cache, so --offline can resolve nothing new
  env.npm_config_update_notifier = 'false';
  env.HOME = home;
  return env;
}

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

function run(cmd: string, args: string[], options: RunOptions): string {
  return runWithStderr(cmd, args, options).stdout;
}

/** Like `run`, and what the command printed on stderr (npm's warnings). */
function runWithStderr(cmd: string, args: string[], options: RunOptions): { stdout: string; stderr: string } {
  try {
    const child = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
    if (child.error) throw child.error;
    if (child.status !== 0) throw Object.assign(new Error(`exit status ${child.status}`), child);
    return { stdout: child.stdout, stderr: child.stderr };
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    const { status, signal } = err as { status?: number | null; signal?: string | null };
    throw new Error(
      `${cmd} ${args.join(' ')} failed (status ${status ?? '-'}, signal ${signal ?? '-'}):\n${stdout ?? ''}\n${stderr ?? ''}`,
      {
        cause: err,
      },
    );
  }
}

/** `npm pack` a directory into `dest`; returns the tarball's path and the files in it. */
function pack(dir: string, dest: string, env: NodeJS.ProcessEnv): { tarball: string; files: string[] } {
  const out = run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: dir, env });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack printed nothing for ${dir}`);
  return { tarball: path.join(dest, info.filename), files: info.files.map((file) => file.path) };
}

// Under CI (CI=true) a missing binary is a failure, not a skip.
const packTest = canRun || process.env.CI ? test : test.skip;

packTest('the packed packages install without a compiler and work from import, require and tsc', (t) => {
  t.timeout(180_000);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-pack-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const home = path.join(work, 'home');
  fs.mkdirSync(home);
  const env = userEnv(home, path.join(work, 'path'));

  // The user's shell has its usual programs but really no Rust toolchain: `command -v` finds
  // `tar` and finds neither cargo nor rustc (a failing `command -v` that printed nothing, not a missing shell).
  t.notThrows(() => execFileSync('sh', ['-c', 'command -v tar && command -v npm'], { env, stdio: 'pipe' }));
  const rust = spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { env, encoding: 'utf8' });
  t.is(rust.error, undefined);
  t.not(rust.status, 0, `found a Rust toolchain on the user's PATH: ${rust.stdout}`);
  t.is(rust.stdout, '');

  // Root package: staged as the release stages it (what `npm pack` takes from the root, the "files"
  // field, with a manifest that has no scripts), with the optionalDependencies that `napi prepublish`
  // writes into the root's package.json before the release stages it (one per napi.targets entry).
  const tarballs = path.join(work, 'tarballs');
  fs.mkdirSync(tarballs);
  const staged = path.join(work, 'root');
  run(process.execPath, [path.join(REPO_ROOT, 'scripts', 'stage-package.mjs'), staged], { cwd: REPO_ROOT, env });
  const packed = fs.readdirSync(staged, { recursive: true }).map(String);
  t.false(
    packed.some((file) => file.endsWith('.node')),
    'the root package ships no binary',
  );
  t.true(packed.includes('native.cjs') && packed.includes(path.join('dist', 'cjs', 'index.js')), packed.join(' '));
  t.true(packed.includes('LICENSE'), 'the root package ships its LICENSE');
  const stagedManifest = JSON.parse(fs.readFileSync(path.join(staged, 'package.json'), 'utf8')) as Manifest;
  const platforms = manifest.napi.targets.map((triple) =>
    run(
      process.execPath,
      [
        '-e',
        `
    process.stdout.write(require('@napi-rs/cli').parseTriple(process.argv[1]).platformArchABI)`,
        triple,
      ],
      { cwd: REPO_ROOT },
    ),
  );
  stagedManifest.optionalDependencies = Object.fromEntries(platforms.map((p) => [`${manifest.name}-${p}`, manifest.version]));
  fs.writeFileSync(path.join(staged, 'package.json'), JSON.stringify(stagedManifest, null, 2));
  const rootPackage = pack(staged, tarballs, env).tarball;
  // The manifest in the tarball has no script npm runs at install (npm 11 lists even `prepare` for a
  // tarball install); the repository's own package.json keeps `prepare`, which builds a clone at `npm ci`.
  const shipped = JSON.parse(run('tar', ['-xzOf', rootPackage, 'package/package.json'], { env })) as Manifest & { private?: boolean };
  for (const hook of ['prepare', 'preinstall', 'install', 'postinstall']) t.is(shipped.scripts?.[hook], undefined, hook);
  t.is(shipped.private, undefined);
  t.is(manifest.scripts?.prepare, 'npm run build');

  // Platform package: npm/<platform> with the binary built here copied in (what `napi artifacts` does in CI).
  const platformDir = path.join(work, PLATFORM);
  // Not a binary someone left in npm/<platform> (docs/packaging.md's steps put one there for a moment): ours.
  fs.cpSync(path.join(REPO_ROOT, 'npm', PLATFORM), platformDir, { recursive: true, filter: (file) => !file.endsWith('.node') });
  fs.copyFileSync(BINARY, path.join(platformDir, `unixgram.${PLATFORM}.node`));
  const platformManifest = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8')) as Manifest;
  t.is(platformManifest.name, `unixgram-${PLATFORM}`);
  t.is(platformManifest.version, manifest.version);
  t.is(platformManifest.main, `unixgram.${PLATFORM}.node`);
  const { tarball: platformPackage, files: platformFiles } = pack(platformDir, tarballs, env);
  t.deepEqual(platformFiles.sort(), ['LICENSE', 'README.md', `unixgram.${PLATFORM}.node`, 'package.json'].sort());

  // A fresh project, as a user has it.
  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const install = runWithStderr('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-save', rootPackage, platformPackage], {
    cwd: project,
    env,
  });
  t.false(/install-scripts|install scripts/i.test(install.stdout + install.stderr), install.stderr);
  const installed = path.join(project, 'node_modules');
  t.true(fs.existsSync(path.join(installed, 'unixgram', 'native.cjs')));
  t.true(fs.existsSync(path.join(installed, `unixgram-${PLATFORM}`, `unixgram.${PLATFORM}.node`)));
  t.false(fs.existsSync(path.join(installed, 'unixgram', 'target')), 'nothing was built at install');

  const payload = path.join(work, 'payload.txt');
  fs.writeFileSync(payload, 'read through a passed fd\n');
  for (const [file, text] of [
    ['roundtrip.mjs', 'from esm'],
    ['roundtrip.cjs', 'from cjs'],
  ] as const) {
    fs.copyFileSync(path.join(FIXTURES_DIR, 'consumer', file), path.join(project, file));
    const out = run(process.execPath, [file, payload], { cwd: project, env });
    t.deepEqual(JSON.parse(out), { text, fds: 1, content: 'read through a passed fd\n' }, file);
  }
  // require('unixgram') gets the CommonJS build, import the ES-module one.
  t.regex(
    run(process.execPath, ['-p', "require.resolve('unixgram')"], { cwd: project, env }),
    /node_modules\/unixgram\/dist\/cjs\/index\.js/,
  );

  // unix-dgram's users (hot-shots, syslog transports) require() the drop-in.
  if ((stagedManifest as { exports?: Record<string, unknown> }).exports?.['./compat/unix-dgram']) {
    const compat = run(
      process.execPath,
      ['-p', "require.resolve('unixgram/compat/unix-dgram') + ' ' + typeof require('unixgram/compat/unix-dgram').createSocket"],
      { cwd: project, env },
    );
    t.regex(compat, /node_modules\/unixgram\/dist\/cjs\/compat\/unix-dgram\.js function/);
  }

  // Strict TypeScript consumers, one per module format, type-checked against the installed .d.ts files.
  for (const file of ['consumer.mts', 'consumer.cts']) fs.copyFileSync(path.join(FIXTURES_DIR, 'consumer', file), path.join(project, file));
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022', 'esnext.disposable'],
        types: ['node'],
        typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')],
        skipLibCheck: false,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
      },
      files: ['consumer.mts', 'consumer.cts'],
    }),
  );
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const listed = run(process.execPath, [tsc, '-p', project, '--listFiles'], { cwd: project, env });
  t.true(listed.includes('node_modules/unixgram/dist/index.d.ts'), 'the ES-module types');
  t.true(listed.includes('node_modules/unixgram/dist/cjs/index.d.ts'), 'the CommonJS types');
});

test('the repository root is not packed or published as it is: npm pack says to stage it, npm publish is EPRIVATE', (t) => {
  t.timeout(60_000);
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const packed = spawnSync('npm', ['pack', '--dry-run'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  t.not(packed.status, 0);
  t.regex(packed.stderr, /node scripts\/stage-package\.mjs target\/package\n\s+npm pack \.\/target\/package/);
  // Even with scripts off: "private" stops it before anything is sent (--force skips the registry
  // look-up; the registry is a closed local port, and the token a dummy that only gets npm that far).
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-publish-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  fs.writeFileSync(path.join(work, 'npmrc'), '//127.0.0.1:9/:_authToken=not-a-token\n');
  const published = spawnSync(
    'npm',
    ['publish', '--ignore-scripts', '--force', '--registry', 'http://127.0.0.1:9/', '--userconfig', path.join(work, 'npmrc')],
    {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
    },
  );
  t.not(published.status, 0);
  t.regex(published.stderr, /npm error code EPRIVATE/);
});
