import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// `npm run dev` forwards the JSON API to a running pitwall (PITWALL_URL, default the
// host's default listen address) so the app can be developed against real data.
const api = process.env.PITWALL_URL ?? 'http://127.0.0.1:8080';
const apiPrefixes = ['/healthz', '/readyz', '/metrics', '/schedule', '/streams', '/extractors', '/proxy', '/live', '/relay'];

export default defineConfig({
	plugins: [sveltekit()],
	build: {
		// SvelteKit's writeBundle hook (adapter + server build) always trips Rolldown's
		// slow-plugin warning; it is expected and not actionable.
		rolldownOptions: { checks: { pluginTimings: false } }
	},
	server: {
		proxy: Object.fromEntries(apiPrefixes.map((prefix) => [prefix, { target: api, changeOrigin: true }]))
	},
	test: {
		include: ['src/**/*.test.ts'],
		environment: 'node'
	}
});
