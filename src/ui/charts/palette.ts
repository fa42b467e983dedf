/**
 * Colour choices that stay readable with colour-vision deficiencies: viridis (sequential) for importance,
 * PuOr/RdBu (diverging, centred on 0) for differences and correlations, Okabe–Ito for task categories.
 */
export const SEQUENTIAL = 'viridis';
export const DIVERGING_DIFF = 'puor';
export const DIVERGING_CORR = 'rdbu';
/** Okabe & Ito (2008), black left out so the lines also show on the dark theme. */
export const TASK_COLORS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#999999'];
