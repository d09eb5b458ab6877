/**
 * A prediction request body, checked before any slot is taken: JSON; Cog's fields (id, input,
 * webhook, webhook_events_filter; anything else is an unknown_field); the body id against the URL
 * id of a PUT; the input against the edit contract's first stage (the same codes and paths as at
 * the edge); and the webhook URL's form. What needs the images (sizes, masks, fetching) is checked
 * while the prediction runs.
 *
 * The edit request's own `webhook` and `webhook_events_filter` belong to the public API (the
 * edge's customer); a GPU function's webhook is Cog's top-level one, so inside the input they are
 * refused rather than silently called or ignored.
 */
import { randomUUID } from 'node:crypto';
import { parseEditRequest } from '@dragflow/shared/edit-request';
import { type ApiError, apiErrorFrom, type ContractError, contractError } from '@dragflow/shared/errors';
import { httpsUrlProblem } from '@dragflow/shared/https-url';
import { parseJson, validate } from '@dragflow/shared/issues';
import { PREDICTION_ID_PATTERN, PredictionRequestSchema } from '@dragflow/shared/prediction';
import type { PredictionOrder } from './runner.ts';

export type RequestCheck =
  | { ok: true; order: PredictionOrder }
  | { ok: false; id: string; input: unknown; error: ApiError };

/** Input fields of the public API that a GPU function does not take. */
const PUBLIC_ONLY_FIELDS = ['webhook', 'webhook_events_filter'] as const;

/** A fresh prediction id: 32 lowercase hex characters. */
export function newPredictionId(): string {
  return randomUUID().replaceAll('-', '');
}

function refuse(id: string, input: unknown, errors: ContractError[]): RequestCheck {
  return { ok: false, id, input, error: apiErrorFrom(errors) };
}

function webhookErrors(webhook: string, allowLoopback: boolean): ContractError[] {
  let url: URL;
  try {
    url = new URL(webhook);
  } catch {
    return [contractError('invalid_url', ['webhook'], 'is not a valid absolute URL')];
  }
  const problem = httpsUrlProblem(url, { allowLoopbackHttp: allowLoopback });
  return problem ? [contractError('invalid_url', ['webhook'], problem)] : [];
}

/**
 * Checks a body. `urlId` is the id in a PUT's path. Paths of input errors are the edit request's
 * (`operations[0].target`), as the contract reports them everywhere.
 */
export function checkPredictionRequest(
  body: string,
  urlId: string | undefined,
  allowLoopback: boolean,
): RequestCheck {
  if (urlId !== undefined && !PREDICTION_ID_PATTERN.test(urlId)) {
    return refuse(newPredictionId(), {}, [
      contractError('invalid_value', ['id'], 'the id in the URL must be 1-128 of A-Z, a-z, 0-9, _ and -'),
    ]);
  }
  const fallbackId = urlId ?? newPredictionId();
  const json = body.trim() === '' ? { ok: true as const, value: {} } : parseJson(body);
  if (!json.ok) return refuse(fallbackId, {}, json.errors);
  const parsed = validate(PredictionRequestSchema, json.value);
  const raw = json.value as { id?: unknown; input?: unknown } | null;
  const input = typeof raw === 'object' && raw !== null && raw.input !== undefined ? raw.input : {};
  const bodyId = typeof raw?.id === 'string' && PREDICTION_ID_PATTERN.test(raw.id) ? raw.id : undefined;
  const id = urlId ?? bodyId ?? fallbackId;
  if (!parsed.ok) return refuse(id, input, parsed.errors);
  const { webhook, webhook_events_filter: filter } = parsed.value;
  if (urlId !== undefined && parsed.value.id !== undefined && parsed.value.id !== urlId) {
    return refuse(id, input, [
      contractError(
        'conflicting_fields',
        ['id'],
        `is "${parsed.value.id}" but the URL names "${urlId}"; they must match`,
      ),
    ]);
  }
  const editInput = parsed.value.input ?? {};
  if (typeof editInput === 'object' && editInput !== null) {
    const publicOnly = PUBLIC_ONLY_FIELDS.filter((field) => Object.hasOwn(editInput, field));
    if (publicOnly.length > 0) {
      return refuse(
        id,
        input,
        publicOnly.map((field) =>
          contractError(
            'field_not_allowed',
            [field],
            "belongs to the public API; a GPU function's webhook is the prediction's top-level webhook (Cog)",
          ),
        ),
      );
    }
  }
  const request = parseEditRequest(editInput, {}, { allowLoopbackHttp: allowLoopback });
  if (!request.ok) return refuse(id, input, request.errors);
  const urlErrors = webhook === undefined ? [] : webhookErrors(webhook, allowLoopback);
  if (urlErrors.length > 0) return refuse(id, input, urlErrors);
  return {
    ok: true,
    order: {
      id,
      input,
      request: request.value,
      ...(webhook === undefined ? {} : { webhook: new URL(webhook) }),
      ...(filter === undefined ? {} : { webhookEventsFilter: filter }),
    },
  };
}
