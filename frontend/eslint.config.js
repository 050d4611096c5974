// ESLint (flat config): JavaScript, TypeScript and Svelte, recommended rules, run by
// `npm run lint` and `cargo xtask ci`. svelte-check does the type checking; this catches the rest.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

export default ts.config(
	{ ignores: ['build/', '.svelte-kit/', 'node_modules/'] },
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	{
		languageOptions: { globals: { ...globals.browser, ...globals.node } }
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts'],
		languageOptions: { parserOptions: { projectService: true, extraFileExtensions: ['.svelte'], parser: ts.parser, svelteConfig } }
	},
	{
		// Code the browser tests run inside the page, where hls.js and axe-core are loaded.
		files: ['e2e/**'],
		languageOptions: { globals: { Hls: 'readonly', axe: 'readonly' } }
	},
	{
		rules: {
			// `_name` marks a parameter kept for its position.
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
			// The app is served at the site's root (no `paths.base`): plain links and goto() are right.
			'svelte/no-navigation-without-resolve': 'off'
		}
	}
);
