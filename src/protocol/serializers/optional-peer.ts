/**
 * @internal Loading an optional peer dependency on first use, so that importing unixgram
 * never needs it installed.
 * @packageDocumentation
 */
import { codedError } from '../../errors.js';
import { rootRequire } from '../../native/package-root.js';

/**
 * `require(name)`, or an error that says which serializer needs which package.
 * @param name - the package, e.g. `'@msgpack/msgpack'`
 * @param user - the class that needs it, for the message
 * @returns the module
 * @throws an error with `code` `'MODULE_NOT_FOUND'` (not installed) or `'ERR_REQUIRE_ESM'`
 * (an ES-only package on a Node without `require(esm)`, before 20.19), `cause` the original
 */
export function loadOptionalPeer<T>(name: string, user: string): T {
  try {
    return rootRequire(name) as T;
  } catch (cause) {
    const code = (cause as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' && String((cause as Error).message).includes(`'${name}'`)) {
      const err = codedError('MODULE_NOT_FOUND', `${user} needs the optional peer dependency ${name}: npm install ${name}`);
      err.cause = cause;
      throw err;
    }
    if (code === 'ERR_REQUIRE_ESM') {
      const err = codedError('ERR_REQUIRE_ESM', `${user} loads ${name} (an ES module) synchronously, which needs Node 20.19 or later`);
      err.cause = cause;
      throw err;
    }
    throw cause;
  }
}
