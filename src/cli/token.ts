/**
 * `npm run token --silent -- --roles enterprise_admin:<uuid> [--roles ...] [--user-id N] [--email E]`
 * prints a signed JWT, and nothing else, on stdout: valid for the local stack (HS256 with
 * JWT_SECRET, else the secret generated into DATA_DIR on first start).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfigOrExit } from '../lib/config';
import { resolveJwtSecret, roleStringSchema, signToken } from '../lib/jwt';

const usage = `Usage: npm run token --silent -- --roles <role:context> [--roles <role:context> ...]
                              [--user-id N] [--email E] [--username U] [--administrator] [--expires-in SECONDS]
Roles: enterprise_provisioning_admin:*  enterprise_openedx_operator:*  enterprise_admin:<customer uuid>  enterprise_learner:<customer uuid>
Several roles may also be given comma-separated: --roles enterprise_admin:<uuid>,enterprise_learner:<uuid>`;

const argsSchema = z.object({
  roles: z.array(roleStringSchema).min(1, 'at least one --roles is required'),
  userId: z.coerce.number().int().positive().optional(),
  email: z.email().optional(),
  username: z.string().min(1).optional(),
  administrator: z.boolean().optional(),
  expiresIn: z.coerce.number().int().positive().optional(),
});

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

async function main() {
  let values: ReturnType<typeof parseArgs>['values'];
  try {
    ({ values } = parseArgs({
      options: {
        roles: { type: 'string', multiple: true },
        role: { type: 'string', multiple: true },
        'user-id': { type: 'string' },
        email: { type: 'string' },
        username: { type: 'string' },
        administrator: { type: 'boolean' },
        'expires-in': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const roles = [...((values.roles as string[]) ?? []), ...((values.role as string[]) ?? [])].flatMap((r) =>
    r
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const parsed = argsSchema.safeParse({
    roles,
    userId: values['user-id'],
    email: values.email,
    username: values.username,
    administrator: values.administrator,
    expiresIn: values['expires-in'],
  });
  if (!parsed.success) {
    fail(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('\n'));
  }
  const config = loadConfigOrExit();
  const secret = resolveJwtSecret(config.env.JWT_SECRET, config.dataDir);
  const token = await signToken(secret, config.env.JWT_ISSUER, parsed.data, config.env.JWT_AUDIENCE);
  process.stdout.write(`${token}\n`);
}

void main();
