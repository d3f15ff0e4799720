// An S3-compatible server as a process of its own (for tests that put it on another "host"):
// s3rver on ADDRESS:PORT with files under DIRECTORY, and BUCKET created; logs one JSON line when ready.
//   node --import tsx test/helpers/s3-server-main.ts   (env: ADDRESS, PORT, DIRECTORY, BUCKET)
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { s3Client } from './s3.js';

const address = process.env.ADDRESS ?? '127.0.0.1';
const server = new S3rver({ address, port: Number(process.env.PORT ?? 0), silent: true, directory: process.env.DIRECTORY ?? '/tmp/s3rver' });
const { port } = await server.run();
const client = s3Client(`http://${address}:${port}`);
await client.send(new CreateBucketCommand({ Bucket: process.env.BUCKET ?? 'traind' }));
console.log(JSON.stringify({ msg: 's3 ready', endpoint: `http://${address}:${port}` }));
process.on('disconnect', () => void server.close().finally(() => process.exit(0)));
