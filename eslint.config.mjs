// ESLint flat config: eslint:recommended for every JS file of the package, its tests and
// benches. The package is CommonJS (.js/.cjs); tests and benches are ES modules (.mjs).
import js from '@eslint/js';
import globals from 'globals';

/** `require()` of a path matching `pattern` (after a slash) is an error in `files`. */
function layer(files, pattern, message) {
  return { files, rules: { 'no-restricted-syntax': ['error', { selector: `CallExpression[callee.name='require'][arguments.0.value=/\\u002F${pattern}/]`, message }] } };
}

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
  // The layers (ARCHITECTURE.md): what runs in the app (index.js, lib/agent/) never loads the
  // CLI, the CLI (cli.js, lib/cli/) loads nothing of the agent but its option parser, and
  // lib/shared/ loads neither.
  layer(['lib/shared/**/*.js'], '(agent|cli)\\u002F', 'lib/shared/ is used by the agent and the CLI: it requires neither'),
  layer(['index.js', 'register.js', 'lib/agent/**/*.js'], 'cli\\u002F', 'the agent runs inside the app: it never requires the CLI'),
  layer(['cli.js', 'lib/cli/**/*.js'], 'agent\\u002F(?!config$)', "the CLI runs in its own process: of the agent it requires only config (to judge the app's options as the app will)"),
  {
    rules: {
      // `catch {}` around best-effort cleanup (unlink of a partial, close of a descriptor) is deliberate.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Unused arguments document callback signatures; unused variables are still errors.
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    },
  },
];
