export * from './validation.js';
export * from './event-id.js';
export * from './frame.js';
export * from './parser.js';
