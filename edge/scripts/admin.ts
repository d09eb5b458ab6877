/**
 * The admin path from a terminal: wraps the edge's /admin routes. The token comes from the
 * ADMIN_TOKEN environment variable (never a flag: command lines are visible to every local user).
 *
 *   npx tsx edge/scripts/admin.ts <edge url> create-account <name> [credits]
 *   npx tsx edge/scripts/admin.ts <edge url> create-key <account id>
 *   npx tsx edge/scripts/admin.ts <edge url> add-credits <account id> <amount>
 *   npx tsx edge/scripts/admin.ts <edge url> revoke-key <key id>
 *   npx tsx edge/scripts/admin.ts <edge url> show-account <account id>
 */
export {};

const USAGE =
  'usage: admin.ts <edge url> create-account <name> [credits] | create-key <account> | add-credits <account> <amount> | revoke-key <key> | show-account <account>';

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const [base, command, first, second] = process.argv.slice(2);
const token = process.env.ADMIN_TOKEN;
if (!base || !command) fail(USAGE);
if (!token) fail('ADMIN_TOKEN is not set');

function route(): { method: string; path: string; body?: unknown } {
  switch (command) {
    case 'create-account':
      if (!first) fail(USAGE);
      return {
        method: 'POST',
        path: '/admin/accounts',
        body: { name: first, ...(second ? { credits: Number(second) } : {}) },
      };
    case 'create-key':
      if (!first) fail(USAGE);
      return { method: 'POST', path: `/admin/accounts/${first}/keys`, body: {} };
    case 'add-credits':
      if (!first || !second) fail(USAGE);
      return { method: 'POST', path: `/admin/accounts/${first}/credits`, body: { amount: Number(second) } };
    case 'revoke-key':
      if (!first) fail(USAGE);
      return { method: 'POST', path: `/admin/keys/${first}/revoke`, body: {} };
    case 'show-account':
      if (!first) fail(USAGE);
      return { method: 'GET', path: `/admin/accounts/${first}` };
    default:
      return fail(USAGE);
  }
}

const { method, path, body } = route();
const response = await fetch(`${base.replace(/\/+$/, '')}${path}`, {
  method,
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
console.log(JSON.stringify(await response.json(), null, 2));
if (!response.ok) process.exit(1);
