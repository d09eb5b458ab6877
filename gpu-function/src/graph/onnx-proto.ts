/** The ONNX protobuf messages (the repo's `onnx.proto` subset), for writing and reading models. */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const root = protobuf.parse(readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8'), {
  keepCase: true,
}).root;

export const ModelProto = root.lookupType('onnx.ModelProto');
