// Each test file's process routes the Temporal SDK's logs into a silent logger
// (TEST_LOG_LEVEL=debug shows them).
import { createLogger } from '../../src/lib/logger';
import { installTemporalRuntime } from '../../src/lib/temporal';

installTemporalRuntime(
  createLogger({ LOG_LEVEL: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent', NODE_ENV: 'test' }),
);
