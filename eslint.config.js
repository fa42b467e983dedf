// `npm run lint`: typescript-eslint's recommended rules for the TypeScript, eslint-plugin-svelte's for the
// components. Rules switched off below are project conventions, each with its reason.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

export default ts.config(
  { ignores: ['dist/', 'dist-cli/', 'node_modules/', '.cache/', 'runs/', 'artifacts/', 'bench/results/', 'tests/fixtures/', '.hftok/'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  { languageOptions: { globals: { ...globals.browser, ...globals.node, ...globals.worker } } },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    rules: {
      // Fixture JSON and tfjs's loosely typed callbacks are read as `any` on purpose in tests and kernels.
      '@typescript-eslint/no-explicit-any': 'off',
      // `_`-prefixed names mark parameters a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Rethrown errors already carry the cause's message after the file and field they name. TODO(lead):
      // attach `{ cause }` everywhere and turn this on once the parallel branches are merged.
      'preserve-caught-error': 'off',
    },
  },
  {
    // A `let x!: T` that a callback declared before the assignment reads must stay `let`.
    files: ['**/*.ts'],
    ignores: ['**/*.svelte.ts'],
    rules: { 'prefer-const': ['error', { ignoreReadBeforeAssign: true }] },
  },
  {
    // BERT's tokenizer strips and splits on control characters by design (google-research/bert tokenization.py).
    files: ['src/engine/tokenizer/**'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // Observable Plot and the attention heatmap render their own SVG node into a container Svelte leaves empty.
    files: ['src/ui/components/PlotFigure.svelte', 'src/ui/AttentionHeatmap.svelte'],
    rules: { 'svelte/no-dom-manipulating': 'off' },
  },
  {
    // `{' '}` is Svelte's way to keep a space between an element and the text after it; the rule calls it useless.
    files: ['**/*.svelte'],
    rules: { 'svelte/no-useless-mustaches': 'off' },
  },
  {
    // URL objects here are temporaries for parsing, never reactive state.
    files: ['src/ui/state/**'],
    rules: { 'svelte/prefer-svelte-reactivity': 'off' },
  },
);
