/**
 * The page's synthetic data (the offline demo and the planted-relations tasks) comes from the engine, so
 * the CLI and the worker generate the same rows from the same seed.
 */
export { SYNTHETIC_SPECS, syntheticSpec, syntheticSplits, syntheticTokenizer } from '../../src/engine/synthetic/syntheticData.ts';
