// Formats shared by every page, so a number reads the same wherever it appears.

// Moving, elapsed and lap times, on every page and in every table: hours:minutes:seconds
// (a year's total reads "312:45:10"). The values are fractions of a day (`dur()` in
// sources/strava/initialize.sql).
export const durationFmt = '[h]:mm:ss';

// Pace, per km, mile or 100 m/yd (also fractions of a day).
export const paceFmt = '[m]:ss';

const DAY_S = 86400;
// Round steps for a time axis, in seconds: ticks land on 0:30, 1:00, 5:00, 0:15:00 ... rather
// than on whatever fraction of a day ECharts' decimal steps give (0:27:39).
const TIME_STEPS_S = [
	1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400
];

/**
 * An ECharts value-axis setting with ticks on round times, for an axis whose values are
 * fractions of a day: the smallest round step that keeps about `ticks` intervals, and the
 * axis ends snapped to it (a tick only falls on the end when the end is a multiple of the step).
 *
 * @param {Array<number | null | undefined>} values the axis values (fractions of a day)
 * @param {{ticks?: number, fromZero?: boolean}} options fromZero: start the axis at 0
 */
export function timeAxis(values, { ticks = 5, fromZero = false } = {}) {
	const seconds = values.filter((v) => v != null && Number.isFinite(v)).map((v) => v * DAY_S);
	if (!seconds.length) return {};
	const low = fromZero ? 0 : Math.min(...seconds);
	const high = Math.max(...seconds);
	const step =
		TIME_STEPS_S.find((s) => (high - low) / s <= ticks) ?? TIME_STEPS_S[TIME_STEPS_S.length - 1];
	return {
		min: (Math.floor(low / step) * step) / DAY_S,
		max: (Math.max(Math.ceil(high / step), Math.floor(low / step) + 1) * step) / DAY_S,
		interval: step / DAY_S
	};
}

const DAY_MS = 86400 * 1000;

// For charts with one point or bar per month on a time axis: ECharts picks ticks for the span
// it sees, and a short span (a few months, or one) gets day ticks (5, 9 ... 29) under monthly
// bars. A minimum step of just over a month keeps the ticks on months.
// ECharts also labels the axis' start, wherever the bars' padding puts it ("14:29:06 711"):
// that label is hidden.
export const monthAxis = { xAxis: { minInterval: 32 * DAY_MS, axisLabel: { showMinLabel: false } } };

// The year-to-date chart draws every year on one common (leap) year, REFERENCE_YEAR, so this
// year and last share the axis; its ticks name the month only (never the made-up year).
export const REFERENCE_YEAR = 2000;
export const monthOfYearAxis = {
	xAxis: {
		minInterval: 32 * DAY_MS,
		min: new Date(REFERENCE_YEAR, 0, 1).getTime(),
		max: new Date(REFERENCE_YEAR, 11, 31).getTime(),
		axisLabel: { formatter: { year: '{MMM}', month: '{MMM}' } }
	}
};
