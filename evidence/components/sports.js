// One colour per sport label (the `sport` column of the source tables), used by every chart and
// map so a sport looks the same everywhere.
export const sportColors = {
	Run: '#fc4c02',
	Ride: '#2563eb',
	Swim: '#0891b2',
	'Walk & hike': '#16a34a',
	Other: '#9ca3af',
	'All sports': '#111827'
};

