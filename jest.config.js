/** Jest in native ESM mode (NODE_OPTIONS=--experimental-vm-modules), ts-jest with useESM. */
import { BRIDGED, bridgePath, buildBridges } from './test/support/esm-bridges.mjs';

await buildBridges();

const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    ...Object.fromEntries(BRIDGED.map((name) => [`^${name.replace('/', '\\/')}$`, bridgePath(name)])),
    '^@herald/sse$': '<rootDir>/libs/sse/src/index.ts',
    '^@herald/client$': '<rootDir>/libs/client/src/index.ts',
    '^@herald/nest-sse$': '<rootDir>/libs/nest-sse/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  testEnvironment: 'node',
};

export default {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], slowTestThreshold: 30 },
  ],
  testTimeout: 30000,
};
