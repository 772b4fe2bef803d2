export { generateScan, type SyntheticObject, type SyntheticOptions, type SyntheticScan, type SyntheticView } from './generate-scan.js';
