// `npm run openapi`: writes openapi/openapi.json from the routes' schemas.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openapiDocument, openapiText } from './openapi.js';

const out = path.resolve(process.argv[2] ?? 'openapi/openapi.json');
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, openapiText(await openapiDocument()));
console.log(`wrote ${out}`);
