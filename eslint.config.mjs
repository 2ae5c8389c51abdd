// The TypeScript linter: typescript-eslint's type-aware rules (a promise nobody awaits or
// handles is an error), on the library, its tests and its CLI. `npm run lint` runs it.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'target/**',
      'docs/**',
      'npm/**',
      'bench/**',
      'scripts/**',
      'crates/**',
      '__test__/fixtures/consumer/**',
      'index.d.ts',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // An async method that awaits nothing still returns a promise, and turns a throw into
      // a rejection: the API's promise-returning calls are async on purpose.
      '@typescript-eslint/require-await': 'off',
      // Rejecting with what was caught re-raises it unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A `let` read by a closure made before its one assignment cannot be a `const`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests read what peers (python scripts, child processes) print as JSON: untyped by
    // nature. Every other rule applies to them as to the library.
    files: ['__test__/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // The type-level test: values that exist only for `typeof`.
    files: ['__test__/types/**'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
);
