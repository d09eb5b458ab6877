/**
 * What onnxruntime 1.30's CUDA execution provider registers, for the ops dragflow's runtime graphs
 * emit, and the ONNX version history that decides which registration a node needs. Data for
 * placement.ts; nothing here runs on a GPU.
 *
 * Sources (the v1.30.0 tag of microsoft/onnxruntime was not among the stored copies this project's
 * search tools reach, so each row names where it comes from; `npm run device:check` confirms them on
 * a GPU by counting Memcpy nodes):
 * - DOC: docs/OperatorKernels.md, section "Operators implemented by CUDAExecutionProvider", of
 *   github.com/tianleiwu/onnxruntime at 21df7a9 (a 2025 snapshot of onnxruntime main, opset 23
 *   era), for rows whose registration has not changed since.
 * - Rows registered after that snapshot: the CUDA kernel source files (microsoft/onnxruntime,
 *   onnxruntime/core/providers/cuda/...) and merged pull requests named in `source`, and the
 *   project's reading of the 1.30 sources (shared/reference/gpu-notes.md: "GPU_NOTES").
 *
 * A registration without an end version matches only nodes whose op resolves to exactly its start
 * version (onnxruntime's KernelRegistry::VerifyVersion); a range matches the versions it spans.
 */

/** ONNX op versions (since_version of each schema), default domain, up to opset 25 (ONNX 1.20). */
export const ONNX_OP_VERSIONS: Readonly<Record<string, readonly number[]>> = {
  Abs: [1, 6, 13],
  Add: [1, 6, 7, 13, 14],
  ArgMax: [1, 11, 12, 13],
  Attention: [23, 24],
  Cast: [1, 6, 9, 13, 19, 21, 23, 24, 25],
  Clip: [1, 6, 11, 12, 13],
  Concat: [1, 4, 11, 13],
  Conv: [1, 11, 22],
  ConvTranspose: [1, 11, 22],
  Cos: [7, 22],
  Div: [1, 6, 7, 13, 14],
  Equal: [1, 7, 11, 13, 19],
  Erf: [9, 13],
  Exp: [1, 6, 13],
  Expand: [8, 13],
  Floor: [1, 6, 13],
  Gather: [1, 11, 13],
  GatherElements: [11, 13],
  Gelu: [20],
  Gemm: [1, 6, 7, 9, 11, 13],
  Greater: [1, 7, 9, 13],
  GridSample: [16, 20, 22],
  Identity: [1, 13, 14, 16, 19, 21, 23, 24, 25],
  If: [1, 11, 13, 16, 19, 21, 23, 24, 25],
  LayerNormalization: [17],
  Less: [1, 7, 9, 13],
  Log: [1, 6, 13],
  MatMul: [1, 9, 13],
  Mul: [1, 6, 7, 13, 14],
  Neg: [1, 6, 13],
  Pad: [1, 2, 11, 13, 18, 19, 21, 23, 24, 25],
  Pow: [1, 7, 12, 13, 15],
  ReduceMean: [1, 11, 13, 18],
  ReduceSum: [1, 11, 13],
  Relu: [1, 6, 13, 14],
  Reshape: [1, 5, 13, 14, 19, 21, 23, 24, 25],
  Resize: [10, 11, 13, 18, 19],
  RMSNormalization: [23],
  RotaryEmbedding: [23],
  ScatterElements: [11, 13, 16, 18],
  ScatterND: [11, 13, 16, 18],
  Sigmoid: [1, 6, 13],
  Sign: [9, 13],
  Sin: [7, 22],
  Slice: [1, 10, 11, 13],
  Softmax: [1, 11, 13],
  Split: [1, 2, 11, 13, 18],
  Sqrt: [1, 6, 13],
  Squeeze: [1, 11, 13, 21, 23, 24, 25],
  Sub: [1, 6, 7, 13, 14],
  Tanh: [1, 6, 13],
  Transpose: [1, 13, 21, 23, 24, 25],
  Unsqueeze: [1, 11, 13, 21, 23, 24, 25],
  Where: [9, 16],
};

const DOC = 'DOC';
const F = ['float32'];
const FHB = ['float32', 'float16', 'bfloat16'];
const FHBD = ['float32', 'float16', 'bfloat16', 'float64'];
/** Every fixed-size type the data-movement kernels take. */
const ALL = ['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'bool', 'uint8'];
const INTS = ['int64', 'int32'];

export interface CudaKernel {
  readonly op: string;
  readonly since: number;
  /** Last version of a range; absent: registered open-ended (matches `since` exactly). */
  readonly until?: number;
  /** Type constraint -> the dtypes registered for it (dragflow's dtype names). */
  readonly types: Readonly<Record<string, readonly string[]>>;
  readonly source: string;
}

export const CUDA_KERNELS: readonly CudaKernel[] = [
  { op: 'Abs', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Add', since: 14, types: { T: FHBD }, source: DOC },
  { op: 'Sub', since: 14, types: { T: FHBD }, source: DOC },
  { op: 'Mul', since: 14, types: { T: FHBD }, source: DOC },
  { op: 'Div', since: 14, types: { T: FHBD }, source: DOC },
  { op: 'Neg', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Sign', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Sqrt', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Exp', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Erf', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Log', since: 13, types: { T: ['float32', 'float16', 'float64'] }, source: DOC },
  { op: 'Sigmoid', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Tanh', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Relu', since: 14, types: { T: FHBD }, source: DOC },
  { op: 'Softmax', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'MatMul', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'Gemm', since: 13, types: { T: FHBD }, source: DOC },
  { op: 'LayerNormalization', since: 17, types: { T: FHBD, U: F }, source: DOC },
  { op: 'RMSNormalization', since: 23, types: { T: FHBD, V: FHBD }, source: DOC },
  { op: 'ReduceMean', since: 18, types: { T: ['float32', 'float16', 'float64', 'int32'] }, source: DOC },
  { op: 'ReduceSum', since: 13, types: { T: [...FHBD, 'int32', 'int64'] }, source: DOC },
  { op: 'Concat', since: 13, types: { T: ALL }, source: DOC },
  { op: 'Split', since: 18, types: { T: ALL }, source: DOC },
  { op: 'Slice', since: 13, types: { T: ALL, Tind: INTS }, source: DOC },
  { op: 'Expand', since: 13, types: { T: ALL }, source: DOC },
  { op: 'Gather', since: 13, types: { T: ALL, Tind: INTS }, source: DOC },
  { op: 'Where', since: 16, types: { B: ['bool'], T: [...FHBD, 'int32', 'int64', 'uint8'] }, source: DOC },
  {
    op: 'Greater',
    since: 13,
    types: { T: ['float32', 'float16', 'float64', 'int32', 'int64'], T1: ['bool'] },
    source: DOC,
  },
  {
    op: 'Less',
    since: 13,
    types: { T: ['float32', 'float16', 'float64', 'int32', 'int64'], T1: ['bool'] },
    source: DOC,
  },
  {
    op: 'Gelu',
    since: 20,
    types: { T: FHB },
    source:
      'onnxruntime/core/providers/cuda/tensor/gelu.cc (float, MLFloat16, BFloat16 at 20); DOC lists no bfloat16 yet',
  },
  {
    op: 'Cast',
    since: 23,
    until: 23,
    types: { T1: ALL, T2: ALL },
    source:
      'PR #28368 (May 2026): "ORT CUDA EP only had opset 23 registrations" for Cast and Reshape, opset 24 added as 24+',
  },
  {
    op: 'Reshape',
    since: 23,
    until: 23,
    types: { T: ALL },
    source: 'PR #26075 (opset 21/23 for Shape, Reshape, Transpose, Squeeze, Unsqueeze) and PR #28368',
  },
  { op: 'Transpose', since: 23, until: 23, types: { T: ALL }, source: 'PR #26075' },
  { op: 'Squeeze', since: 23, until: 23, types: { T: ALL }, source: 'PR #26075' },
  { op: 'Unsqueeze', since: 23, until: 23, types: { T: ALL }, source: 'PR #26075' },
  {
    op: 'Identity',
    since: 23,
    until: 23,
    types: { T: ALL, V: ALL },
    source:
      'PR #27728 (merged March 2026: opset 21/23 for Flatten, Identity, If, Loop, Scan, ConstantOfShape, Size)',
  },
  { op: 'If', since: 23, until: 23, types: { B: ['bool'] }, source: 'PR #27728' },
  {
    op: 'Attention',
    since: 23,
    until: 23,
    types: { T1: FHB, T2: FHB },
    source:
      'PR #26466 "Attention(23) CUDA" (onnxruntime/core/providers/cuda/llm/attention.cc); bfloat16 and the 23/24 split per GPU_NOTES ("ONNX Attention-24 ... CUDA kernels (f32/f16/bf16)")',
  },
  {
    op: 'RotaryEmbedding',
    since: 23,
    types: { T: FHB },
    source: 'onnxruntime/core/providers/cuda/llm/rotary_embedding.cc (float, MLFloat16, BFloat16 at 23)',
  },
  { op: 'Conv', since: 22, types: { T: FHBD }, source: 'GPU_NOTES ("Conv-22 (bf16 too)"); DOC had 11+ only' },
  {
    op: 'Resize',
    since: 19,
    types: { T1: ['float32', 'float16', 'float64', 'int32', 'uint8'] },
    source: 'GPU_NOTES ("Resize-19 ... no bf16"); DOC had 18+ only',
  },
];
