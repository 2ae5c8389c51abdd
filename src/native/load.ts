/**
 * @internal Loading the generated napi-rs loader (`native.cjs`), which picks this platform's
 * prebuilt binary: `unixgram.<platform>.node` next to it (a build from a clone) or the
 * `unixgram-<platform>` package that npm installed through `optionalDependencies`.
 * @packageDocumentation
 */
import { codedError, ErrorCodes, type SystemError } from '../errors.js';
import { rootRequire } from './package-root.js';

const ARCH: Readonly<Record<string, string>> = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' };
const OS: Readonly<Record<string, string>> = { linux: 'linux', darwin: 'darwin', freebsd: 'freebsd', windows: 'win32' };

/**
 * The napi-rs package suffix of a Rust target triple, e.g. `x86_64-unknown-linux-gnu` →
 * `linux-x64-gnu`, `aarch64-apple-darwin` → `darwin-arm64`.
 * @param triple - a target triple from `napi.targets`
 * @returns the suffix of the platform package's name
 */
export function platformOfTriple(triple: string): string {
  const [arch = '', , os = '', abi] = triple.split('-');
  const name = `${OS[os] ?? os}-${ARCH[arch] ?? arch}`;
  return abi === 'gnu' || abi === 'musl' ? `${name}-${abi}` : name;
}

/**
 * This process's platform in the same spelling, with the C library on Linux.
 * @returns e.g. `'linux-x64-gnu'`, `'linux-arm64-musl'`, `'darwin-arm64'`
 */
export function currentPlatform(): string {
  const name = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return name;
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return `${name}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

/** The platforms a release publishes a binary for, from `napi.targets` in package.json. */
export function supportedPlatforms(): string[] {
  const manifest = rootRequire('./package.json') as { napi?: { targets?: string[] } };
  return (manifest.napi?.targets ?? []).map(platformOfTriple);
}

/**
 * The error thrown when no binary loads: names the platform, the supported ones, and how to
 * build from source; `cause` is the loader's own error (with every attempt in its chain).
 * @param cause - what `native.cjs` threw
 * @returns an error with `code` `'ERR_UNIXGRAM_NO_BINARY'`
 */
export function noBinaryError(cause: unknown): SystemError {
  const platform = currentPlatform();
  const supported = supportedPlatforms();
  const why = supported.includes(platform)
    ? `the package unixgram-${platform} is missing or failed to load (was it installed with --omit=optional or --no-optional, or on another platform and copied here?); reinstall unixgram on this machine`
    : `there is no prebuilt binary for ${platform}; prebuilt binaries exist for ${supported.join(', ')}`;
  const err = codedError(
    ErrorCodes.NO_BINARY,
    `unixgram could not load its native addon on ${platform}: ${why}. ` +
      'To build it from source instead, you need a Rust toolchain (https://rustup.rs): ' +
      'git clone the unixgram repository, run `npm ci` there (it runs `napi build`), then ' +
      '`npm install /path/to/that/clone` in your project.',
  );
  err.cause = cause;
  return err;
}

/**
 * `require('./native.cjs')` from the package root, or {@link noBinaryError}.
 * @returns the binding's exports
 * @throws an error with `code` `'ERR_UNIXGRAM_NO_BINARY'` when no binary loads
 */
export function loadBinding<T>(): T {
  try {
    return rootRequire('./native.cjs') as T;
  } catch (cause) {
    throw noBinaryError(cause);
  }
}
