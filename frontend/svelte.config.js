import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A pure SPA: the host serves `build/` and answers every non-API path with
		// `index.html`, so there is no prerendered HTML per route.
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
		// The fallback page is served at any depth (`/session/x/...`), so asset URLs
		// must be absolute, not relative to the document.
		paths: { relative: false }
	},
	compilerOptions: {
		runes: true
	}
};

export default config;
