/**
 * @internal The CommonJS build's `package-root.ts`: `scripts/build-cjs.mjs` compiles this
 * file under that name into `dist/cjs/native/`, three levels below the package root.
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import path from 'node:path';

/** A CommonJS `require` that resolves from the package root (see `package-root.ts`). */
export const rootRequire: NodeJS.Require = createRequire(path.join(__dirname, '..', '..', '..', 'package.json'));
