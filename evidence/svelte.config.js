// Merged by Evidence into its own SvelteKit config (see .evidence/template/svelte.config.js).
//
// Activity pages are templated (pages/activities/[activity_id].md). Prerendering every one the
// tables link to would cost about a second each, so links are not crawled: every fixed page is
// prerendered, plus the activity routes build_site() lists in STRAVA_SITE_PRERENDER_ROUTES (the
// latest ones). Any other activity is rendered in the browser from 200.html, the static
// adapter's fallback page, which serve_site() answers for routes without a prerendered page.
import adapter from '@sveltejs/adapter-static';

const extraRoutes = (process.env.STRAVA_SITE_PRERENDER_ROUTES ?? '')
	.split(',')
	.map((route) => route.trim())
	.filter((route) => route.startsWith('/'));

/** @type {import('@sveltejs/kit').Config} */
const config = {
	kit: {
		adapter: adapter({ strict: false, fallback: '200.html' }),
		prerender: {
			crawl: false,
			entries: ['*', ...extraRoutes]
		}
	}
};

export default config;
