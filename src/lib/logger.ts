import pino, { type Logger } from 'pino';
import type { Env } from './config';

export type { Logger };

/** Structured JSON logs; pretty-printed when a person is watching a terminal. */
export function createLogger(env: Pick<Env, 'LOG_LEVEL' | 'NODE_ENV'>, name = 'enterprise-access'): Logger {
  const pretty = process.stdout.isTTY && env.NODE_ENV !== 'production';
  return pino({
    name,
    level: env.LOG_LEVEL,
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' },
          },
        }
      : {}),
  });
}
