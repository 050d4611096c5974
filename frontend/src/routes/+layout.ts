// The host serves a static build with an SPA fallback: render everything in the browser
// and prerender nothing, so every route (including deep links) is one `index.html`.
export const ssr = false;
export const prerender = false;
