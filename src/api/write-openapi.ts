// `npm run openapi`: writes openapi/openapi.json from the routes' schemas, and the typed client's
// types generated from it (src/client/schema.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { clientTypesSource } from '../client/generate-types.js';
import { openapiDocument, openapiText } from './openapi.js';

const out = path.resolve(process.argv[2] ?? 'openapi/openapi.json');
const typesOut = path.resolve(process.argv[3] ?? 'src/client/schema.ts');
const doc = await openapiDocument();
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, openapiText(doc));
await writeFile(typesOut, await clientTypesSource(doc));
console.log(`wrote ${out} and ${typesOut}`);
