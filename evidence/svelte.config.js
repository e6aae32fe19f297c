// Merged by Evidence into its own SvelteKit config (see .evidence/template/svelte.config.js).
//
// Activity pages are templated (pages/activities/[activity_id].md). Prerendering every one the
// tables link to would cost about a second each, so links are not crawled: every fixed page is
// prerendered, plus the activity routes build_site() lists in STRAVA_SITE_PRERENDER_ROUTES (the
// latest ones). Any other activity is rendered in the browser from 200.html, the static
// adapter's fallback page, which serve_site() answers for routes without a prerendered page.
//
// The data export runs beside the build (build_site: Vite compiles the pages, most of a build and
// the same whatever the data, while `evidence sources` exports the warehouse). Prerendering is the
// first step that reads the data, so it waits for the export here: SvelteKit prerenders in a
// worker thread that loads this file before it renders any page, and Evidence reads the data
// manifest when the first page renders. The other worker, the route analysis, runs before the
// client bundle exists; the client bundle's manifest tells the two apart.
import { existsSync } from 'fs';
import { isMainThread } from 'worker_threads';
import adapter from '@sveltejs/adapter-static';

const dataReady = process.env.STRAVA_SITE_DATA_READY;
const prerendering = !isMainThread && existsSync('.svelte-kit/output/client/.vite/manifest.json');

/** Resolves once `path` exists; fails if the Python process running the build is gone. */
async function exportFinished(path) {
	const builder = Number(process.env.STRAVA_SITE_BUILDER_PID);
	while (!existsSync(path)) {
		try {
			if (builder) process.kill(builder, 0);
		} catch {
			throw new Error(`The site's data was never exported (no ${path}): build abandoned.`);
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

if (dataReady && prerendering) await exportFinished(dataReady);

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
