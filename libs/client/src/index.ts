export { HeraldClient } from './herald-client.js';
export type * from './types.js';
