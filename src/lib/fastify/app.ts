import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../jwt';
import '../validation';
import { authPlugin } from './auth';
import { errorsPlugin, frameworkErrors } from './errors';
import { faultsPlugin } from './faults';

export type App = FastifyInstance;
export type ZodApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export interface HttpAppOptions {
  name: string;
  logger: Logger;
  verify: TokenVerifier;
  faultInjection: boolean;
  /** Readiness probe beyond "the process answers", e.g. a database ping. */
  ready?: () => Promise<void>;
}

/**
 * The common base of the api and every service: zod validation, the upstream error shapes,
 * JWT auth, `/healthz`, and (tests only) fault injection. Routes are registered by the caller.
 * Trailing slashes are optional everywhere, as in the upstream Django services.
 */
export function createHttpApp(opts: HttpAppOptions): App {
  const app = Fastify({
    loggerInstance: opts.logger.child({ service: opts.name }) as FastifyBaseLogger,
    // One line per request is written by the onResponse hook below, not two by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    // A long path parameter is the route's own 400/404 (as upstream), not the router's 414.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 2048 },
    bodyLimit: 10 * 1024 * 1024,
    frameworkErrors,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.register(errorsPlugin);
  app.register(authPlugin, { verify: opts.verify });
  if (opts.faultInjection) app.register(faultsPlugin);
  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await opts.ready?.();
      return { status: 'ok', service: opts.name };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', service: opts.name, detail: (err as Error).message });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.url === '/healthz') return;
    req.log.info(
      { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });
  return app;
}
