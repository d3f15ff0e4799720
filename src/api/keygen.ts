// `npm run keygen -- <tenant>`: prints a new random API key and the API_KEYS entry holding its
// SHA-256 (the server stores only the digest). Give the key to the tenant; keep the line in config.
import { randomBytes } from 'node:crypto';
import { TENANT_PATTERN } from '../config.js';
import { sha256Hex } from './auth.js';

const tenant = process.argv[2];
if (tenant === undefined || !TENANT_PATTERN.test(tenant)) {
  console.error('usage: npm run keygen -- <tenant>   (tenant: letters, digits, _ . -; up to 64 characters)');
  process.exit(2);
}
const key = `tdk_${randomBytes(32).toString('base64url')}`;
console.log(`key (give to ${tenant}; shown once): ${key}`);
console.log(`API_KEYS entry: ${tenant}:${sha256Hex(key)}`);
console.log('(several entries are comma-separated: API_KEYS=a:<hex>,b:<hex>)');
