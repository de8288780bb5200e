/** jest runs the pure modules' tests (src/__tests__) in Node, through ts-jest. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testRegex: '/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: {
          module: 'commonjs',
          target: 'ES2020',
          lib: ['DOM', 'ES2020'],
          strict: true,
          esModuleInterop: true,
          types: ['jest']
        }
      }
    ]
  }
};
