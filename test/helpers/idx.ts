// IDX files built in memory for tests (the MNIST format): two zero bytes, the element type code
// (0x08 unsigned byte, 0x0d float32, …), the number of dimensions, each size big-endian, the data.
export function idxFile(typeCode: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = typeCode;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}
