// ESLint flat config: eslint:recommended for every JS file of the package, its tests and
// benches. The package is CommonJS (.js/.cjs); tests and benches are ES modules (.mjs).
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['node_modules/', 'target/', 'binding.js', 'npm/', 'bench-out/', 'leakwatch-*/'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', ecmaVersion: 2023, globals: { ...globals.node } },
  },
  {
    // report.html's script: runs in the browser, inlined into the page (lib/cli/html-report.js).
    files: ['lib/cli/report-page/**/*.js'],
    languageOptions: { sourceType: 'script', ecmaVersion: 2020, globals: { ...globals.browser } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', ecmaVersion: 2023, globals: { ...globals.node } },
  },
  {
    rules: {
      // `catch {}` around best-effort cleanup (unlink of a partial, close of a descriptor) is deliberate.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Unused arguments document callback signatures; unused variables are still errors.
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    },
  },
];
