// Every response the API tests produce, checked against the committed OpenAPI document: the
// status is declared for that operation, the content type is one it declares (none for 204/304),
// and a JSON body validates against the declared schema. Fixtures pass `observeResponse` to
// buildApp and assert `violations()` is empty when they close.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ObservedResponse } from '../../src/api/app.js';

type Json = Record<string, unknown>;

const doc = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as Json;
const DOC_ID = 'openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false });
(addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema(doc, DOC_ID);
const validators = new Map<string, ValidateFunction>();

const pointer = (parts: string[]): string => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function resolveResponse(ref: Json): { response: Json; at: string[] } {
  const $ref = ref.$ref;
  if (typeof $ref !== 'string') return { response: ref, at: [] };
  const at = $ref.replace(/^#\//, '').split('/');
  let node: unknown = doc;
  for (const p of at) node = (node as Json)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  return { response: node as Json, at };
}

/** A problem with one response, or null when it conforms. */
export function checkResponse(r: ObservedResponse): string | null {
  if (r.route === undefined) return null; // no route matched: not an operation of the document
  const path = r.route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  const method = r.method.toLowerCase();
  const op = ((doc.paths as Json)[path] as Json | undefined)?.[method === 'head' ? 'get' : method] as Json | undefined;
  if (op === undefined) return null; // hidden routes (/openapi.json, /docs)
  const what = `${r.method} ${path} → ${r.status}`;
  const responses = op.responses as Json;
  const declared = (responses[String(r.status)] ?? responses.default) as Json | undefined;
  if (declared === undefined) return `${what}: status not declared (declared: ${Object.keys(responses).join(', ')})`;
  const { response, at } = resolveResponse(declared);
  const base = at.length > 0 ? at : ['paths', path, method, 'responses', String(r.status)];
  const content = response.content as Json | undefined;
  const type = r.contentType?.split(';')[0]?.trim().toLowerCase();
  const bodyLength = r.body === null ? -1 : r.body.length;
  if (content === undefined) {
    if (bodyLength > 0) return `${what}: a body where none is declared`;
    return null;
  }
  if (type === undefined) return bodyLength === 0 && (r.status === 204 || r.status === 304) ? null : `${what}: no Content-Type`;
  if (!(type in content)) return `${what}: Content-Type ${type} not declared (declared: ${Object.keys(content).join(', ')})`;
  if (type !== 'application/json' || r.body === null) return null;
  const key = pointer([...base, 'content', type, 'schema']);
  let validate = validators.get(key);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `${DOC_ID}#/${key}` });
    validators.set(key, validate);
  }
  let body: unknown;
  try {
    body = JSON.parse(r.body.toString());
  } catch {
    return `${what}: body is not JSON`;
  }
  if (validate(body)) return null;
  return `${what}: body does not match the schema: ${ajv.errorsText(validate.errors)}; body ${r.body.toString().slice(0, 300)}`;
}

/** An observer for buildApp and the list of what did not conform. */
export function conformanceRecorder(): { observe: (r: ObservedResponse) => void; violations: () => string[]; checked: () => number } {
  const found: string[] = [];
  let checked = 0;
  return {
    observe(r) {
      checked += 1;
      const problem = checkResponse(r);
      if (problem !== null && !found.includes(problem)) found.push(problem);
    },
    violations: () => [...found],
    checked: () => checked,
  };
}
