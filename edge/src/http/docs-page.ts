/**
 * GET /docs: a reference page rendered from the OpenAPI document (no script, no external
 * assets): each operation with its parameters, body and responses, the webhook, the error codes
 * and every schema as JSON.
 */
import { ERROR_CODES } from '@dragflow/shared';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function refName(schema: Json): string | undefined {
  const ref = (schema as JsonObject | null)?.$ref;
  return typeof ref === 'string' ? ref.split('/').at(-1) : undefined;
}

function schemaLink(schema: Json): string {
  const name = refName(schema);
  return name
    ? `<a href="#schema-${name}">${name}</a>`
    : `<code>${escapeHtml(JSON.stringify(schema))}</code>`;
}

function renderOperation(method: string, path: string, op: JsonObject): string {
  const parameters = ((op.parameters as JsonObject[] | undefined) ?? [])
    .map(
      (p) =>
        `<li><code>${escapeHtml(String(p.name))}</code> (${escapeHtml(String(p.in))}${p.required ? ', required' : ''})${p.description ? ` ${escapeHtml(String(p.description))}` : ''}</li>`,
    )
    .join('');
  const body = (op.requestBody as JsonObject | undefined)?.content as JsonObject | undefined;
  const bodies = body
    ? Object.entries(body)
        .map(
          ([type, media]) =>
            `<li><code>${escapeHtml(type)}</code>: ${schemaLink((media as JsonObject).schema ?? null)}</li>`,
        )
        .join('')
    : '';
  const responses = Object.entries(op.responses as JsonObject)
    .map(([status, response]) => {
      const r = response as JsonObject;
      const content = r.content as JsonObject | undefined;
      const schema = content ? Object.values(content)[0] : undefined;
      return `<li><b>${escapeHtml(status)}</b> ${escapeHtml(String(r.description ?? ''))}${schema ? ` (${schemaLink((schema as JsonObject).schema ?? null)})` : ''}</li>`;
    })
    .join('');
  return `<section class="op"><h3><span class="method">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> ${escapeHtml(String(op.summary ?? ''))}</h3>
<p>${escapeHtml(String(op.description ?? ''))}</p>
${parameters ? `<h4>Parameters</h4><ul>${parameters}</ul>` : ''}${bodies ? `<h4>Request body</h4><ul>${bodies}</ul>` : ''}
<h4>Responses</h4><ul>${responses}</ul></section>`;
}

export function renderDocsPage(document: Json): string {
  const doc = document as JsonObject;
  const info = doc.info as JsonObject;
  const operations = Object.entries(doc.paths as JsonObject)
    .flatMap(([path, item]) =>
      Object.entries(item as JsonObject).map(([method, op]) =>
        renderOperation(method, path, op as JsonObject),
      ),
    )
    .join('\n');
  const webhooks = Object.entries((doc.webhooks as JsonObject | undefined) ?? {})
    .flatMap(([name, item]) =>
      Object.entries(item as JsonObject).map(([method, op]) =>
        renderOperation(method, `webhook: ${name}`, op as JsonObject),
      ),
    )
    .join('\n');
  const codes = Object.entries(ERROR_CODES)
    .map(
      ([code, info]) =>
        `<tr><td><code>${code}</code></td><td>${info.http}</td><td>${escapeHtml(info.description)}</td></tr>`,
    )
    .join('');
  const schemas = Object.entries((doc.components as JsonObject).schemas as JsonObject)
    .map(
      ([name, schema]) =>
        `<section id="schema-${name}"><h3>${name}</h3><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(String(info.title))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f6f6;padding:.75rem;overflow:auto;max-height:30rem}
.op{border-top:1px solid #ddd;padding-top:.5rem}.method{background:#234;color:#fff;padding:0 .4rem;border-radius:3px}
table{border-collapse:collapse}td{border:1px solid #ddd;padding:.2rem .5rem;vertical-align:top}</style></head>
<body><h1>${escapeHtml(String(info.title))} ${escapeHtml(String(info.version))}</h1>
<p>${escapeHtml(String(info.description))}</p>
<p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Operations</h2>${operations}
<h2>Webhooks</h2>${webhooks}
<h2>Error codes</h2><table><tr><td><b>code</b></td><td><b>HTTP</b></td><td><b>meaning</b></td></tr>${codes}</table>
<h2>Schemas</h2>${schemas}
</body></html>`;
}
