/**
 * Vector-Jacobian products of the fused attention ops. ONNX Attention keeps no score matrix (on
 * CUDA it is flash or memory-efficient attention), and there is no fused backward to call: its
 * gradient recomputes the scores, one group of heads at a time, so at most
 * ATTENTION_GRADIENT_CHUNK_BYTES of float32 scores live at once, and never in the forward pass.
 * Everything between the score GEMM and the input gradients is float32 (float64 in float64 graphs;
 * inputs of 16-bit graphs are cast up: exact, and TF32 GEMMs on CUDA read them exactly too).
 */
import type { Graph, Tensor } from './graph.ts';
import { floatAttr } from './ops.ts';

/** Budget for one head group's [B, heads, Sq, Skv] float32 score matrix. */
export const ATTENTION_GRADIENT_CHUNK_BYTES = 256 * 1024 ** 2;

/** Heads per group so that a group's float32 scores fit the budget (at least one). */
export function attentionGradientHeadsPerChunk(q: readonly number[], k: readonly number[]): number {
  const [b, h, sq] = q as [number, number, number];
  const perHead = b * sq * k[2]! * 4;
  return Math.max(1, Math.min(h, Math.floor(ATTENTION_GRADIENT_CHUNK_BYTES / perHead)));
}

/** The node's attributes as attention-gradient.ts reads them. */
interface AttentionNode {
  readonly inputs: readonly (Tensor | undefined)[];
  readonly outputs: readonly Tensor[];
  readonly attrs: Parameters<typeof floatAttr>[0]['attrs'];
}

/**
 * dQ, dK, dV of Y = softmax(Q K^T s) V for [B, H, S, D] operands, from dY and the forward Y:
 * P = softmax(Q K^T s); dV = P^T dY; dS = P (dY V^T - rowsum(dY Y)) s; dQ = dS K; dK = dS^T Q.
 */
export function attentionGradients(
  g: Graph,
  node: AttentionNode,
  dy: Tensor,
  headsPerChunk = attentionGradientHeadsPerChunk(node.inputs[0]!.shape, node.inputs[1]!.shape),
): { dq: () => Tensor; dk: () => Tensor; dv: () => Tensor } {
  const [q, k, v] = node.inputs as [Tensor, Tensor, Tensor];
  const y = node.outputs[0]!;
  const dtype = q.dtype;
  const scale = floatAttr(node, 'scale', 1 / Math.sqrt(q.shape[3]!));
  const compute = dtype === 'float64' ? 'float64' : 'float32';
  const f32 = (t: Tensor) => (t.dtype === compute ? t : g.cast(t, compute));
  const back = (t: Tensor) => (t.dtype === dtype ? t : g.cast(t, dtype));
  const heads = q.shape[1]!;
  const per = Math.min(heads, headsPerChunk);
  const sizes = Array.from({ length: Math.ceil(heads / per) }, (_, i) => Math.min(per, heads - i * per));
  const pieces = (t: Tensor) => (sizes.length === 1 ? [f32(t)] : g.split(f32(t), sizes, 1));
  const swap = (t: Tensor) => g.transpose(t, [0, 1, 3, 2]);
  let built: { dq: Tensor; dk: Tensor; dv: Tensor } | undefined;
  const build = () => {
    if (built) return built;
    const [qs, ks, vs, dys, ys] = [q, k, v, dy, y].map(pieces) as Tensor[][];
    const chunks = sizes.map((_, i) => {
      const [qc, kc, vc, dyc, yc] = [qs![i]!, ks![i]!, vs![i]!, dys![i]!, ys![i]!];
      const p = g.softmax(g.mul(g.matmul(qc, swap(kc)), scale), -1);
      const rowDot = g.reduceSum(g.mul(dyc, yc), [3]);
      const ds = g.mul(g.mul(p, g.sub(g.matmul(dyc, swap(vc)), rowDot)), scale);
      return { dq: g.matmul(ds, kc), dk: g.matmul(swap(ds), qc), dv: g.matmul(swap(p), dyc) };
    });
    const join = (key: 'dq' | 'dk' | 'dv') =>
      back(
        chunks.length === 1
          ? chunks[0]![key]
          : g.concat(
              chunks.map((c) => c[key]),
              1,
            ),
      );
    built = { dq: join('dq'), dk: join('dk'), dv: join('dv') };
    return built;
  };
  return { dq: () => build().dq, dk: () => build().dk, dv: () => build().dv };
}

/** RotaryEmbedding is a rotation per channel pair: its transpose rotates dy by the opposite angle. */
export function rotaryEmbeddingGradient(
  g: Graph,
  node: { inputs: readonly (Tensor | undefined)[]; attrs: AttentionNode['attrs'] },
  dy: Tensor,
): Tensor {
  const [, cos, sin] = node.inputs as [Tensor, Tensor, Tensor];
  return g.op('RotaryEmbedding', [dy, cos, g.neg(sin)], node.attrs)[0]!;
}
