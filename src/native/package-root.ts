/**
 * @internal Where this package is installed, for the two things loaded at run time by path
 * or by name: the generated loader (`native.cjs`) and the optional peer serializers.
 *
 * This file is the ES-module build's; the CommonJS build (`dist/cjs/`) compiles
 * `package-root-cjs.cts` in its place (see `scripts/build-cjs.mjs`), since `import.meta`
 * does not exist in CommonJS and `__dirname` does not exist in ES modules. Each knows how
 * deep it sits below the package root; nothing else in `src/` depends on the module format.
 * @packageDocumentation
 */
import { createRequire } from 'node:module';

/**
 * A CommonJS `require` that resolves from the package root: `rootRequire('./native.cjs')`
 * is the generated loader, `rootRequire('cbor2')` finds a peer installed next to unixgram.
 * `src/native/` (run by tsx in the tests) and `dist/native/` are both two levels below the root.
 */
export const rootRequire: NodeJS.Require = createRequire(new URL('../../package.json', import.meta.url));
