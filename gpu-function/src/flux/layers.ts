/**
 * The FLUX.1 transformer's building blocks, one function per reference module: Linear,
 * Modulation, QKNorm, attention with RoPE, DoubleStreamBlock, SingleStreamBlock, LastLayer.
 * Params are looked up by their checkpoint names under the `prefix` each function receives.
 */
import type { Graph, Tensor } from '../graph/graph.ts';
import { type FluxConfig, mlpHiddenDim } from './config.ts';
import type { ParamBinder } from './param-binder.ts';
import { castTo } from './precision.ts';
import type { RotaryTables } from './rope.ts';

/** Epsilon of every LayerNorm and RMSNorm in the transformer. */
export const NORM_EPSILON = 1e-6;

/** torch.nn.Linear with a [out, in] weight; the bias is used when the checkpoint has one. */
export function linear(p: ParamBinder, prefix: string, x: Tensor, bias = true): Tensor {
  return p.graph.linear(x, p.param(`${prefix}.weight`), bias ? p.param(`${prefix}.bias`) : undefined);
}

/** LayerNorm over the last dim without learned scale or bias (elementwise_affine=False); float32 statistics. */
export function plainLayerNorm(g: Graph, x: Tensor): Tensor {
  const width = x.shape[x.rank - 1]!;
  const ones = g.constant(new Array<number>(width).fill(1), x.dtype, [width]);
  return g.layerNorm(x, ones, undefined, { epsilon: NORM_EPSILON });
}

/** Shift, scale and gate for one sub-layer, each [B, 1, hidden]. */
export interface ModulationOut {
  readonly shift: Tensor;
  readonly scale: Tensor;
  readonly gate: Tensor;
}

/** lin(SiLU(vec)) chunked into 6 (double: attention and MLP) or 3 (single) vectors. */
export function modulation(p: ParamBinder, prefix: string, vec: Tensor, double: boolean): ModulationOut[] {
  const g = p.graph;
  const hidden = vec.shape[1]!;
  const count = double ? 6 : 3;
  const out = g.unsqueeze(linear(p, `${prefix}.lin`, g.silu(vec)), [1]);
  const chunks = g.split(out, new Array<number>(count).fill(hidden), -1);
  const group = (i: number): ModulationOut => ({
    shift: chunks[i]!,
    scale: chunks[i + 1]!,
    gate: chunks[i + 2]!,
  });
  return double ? [group(0), group(3)] : [group(0)];
}

/** (1 + scale) * LayerNorm(x) + shift. */
export function modulate(g: Graph, x: Tensor, mod: Pick<ModulationOut, 'shift' | 'scale'>): Tensor {
  return g.add(g.mul(g.add(mod.scale, 1), plainLayerNorm(g, x)), mod.shift);
}

/** [B, L, H*D] -> [B, H, L, D]. */
export function splitHeads(g: Graph, x: Tensor, heads: number): Tensor {
  const [b, l, width] = x.shape as [number, number, number];
  return g.transpose(g.reshape(x, [b, l, heads, width / heads]), [0, 2, 1, 3]);
}

/** [B, H, L, D] -> [B, L, H*D]. */
export function mergeHeads(g: Graph, x: Tensor): Tensor {
  const [b, h, l, d] = x.shape as [number, number, number, number];
  return g.reshape(g.transpose(x, [0, 2, 1, 3]), [b, l, h * d]);
}

/** Queries, keys and values [B, H, L, D], after QK normalisation. */
export interface Qkv {
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
}

/** Splits a fused "(K H D)" projection [B, L, 3*hidden] and RMS-normalises q and k per head. */
export function qkvHeads(p: ParamBinder, normPrefix: string, qkv: Tensor, heads: number): Qkv {
  const g = p.graph;
  const hidden = qkv.shape[2]! / 3;
  const [q, k, v] = g.split(qkv, [hidden, hidden, hidden], -1).map((t) => splitHeads(g, t, heads)) as [
    Tensor,
    Tensor,
    Tensor,
  ];
  return {
    q: g.rmsNorm(q, p.param(`${normPrefix}.query_norm.scale`), NORM_EPSILON),
    k: g.rmsNorm(k, p.param(`${normPrefix}.key_norm.scale`), NORM_EPSILON),
    v,
  };
}

/** softmax(q k^T / sqrt(D)) v over [B, H, L, D] operands, spelled out (the autoencoder's attention). */
export function scaledDotProductAttention(g: Graph, q: Tensor, k: Tensor, v: Tensor): Tensor {
  const d = q.shape[3]!;
  const scores = g.mul(g.matmul(q, g.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(d));
  return g.matmul(g.softmax(scores, -1), v);
}

/**
 * softmax(q k^T / sqrt(D)) v as one ONNX Attention node: no score matrix is materialised (flash or
 * memory-efficient attention on CUDA) and its gradient rule recomputes the scores per head group.
 */
export function fusedAttention(g: Graph, q: Tensor, k: Tensor, v: Tensor): Tensor {
  return g.op('Attention', [q, k, v], { scale: { float: 1 / Math.sqrt(q.shape[3]!) } })[0]!;
}

/** RoPE as one ONNX RotaryEmbedding node (pairs (2j, 2j+1)), in float32 as the reference rotates. */
export function rotate(g: Graph, x: Tensor, pe: RotaryTables): Tensor {
  const rotated = g.op('RotaryEmbedding', [castTo(g, x, 'float32'), pe.cos, pe.sin], { interleaved: 1 })[0]!;
  return castTo(g, rotated, x.dtype);
}

/** RoPE on q and k, attention, heads merged: [B, L, hidden]. */
export function attention(g: Graph, q: Tensor, k: Tensor, v: Tensor, pe: RotaryTables): Tensor {
  return mergeHeads(g, fusedAttention(g, rotate(g, q, pe), rotate(g, k, pe), v));
}

/**
 * The adapter slot: image-token queries (QK-normalised, without RoPE, as IP-adapters for FLUX do)
 * attend to the adapter's per-block keys and values [B, H, N, D]; the result, times `scale`, is
 * added to the image tokens' attention output.
 */
export interface AdapterBranch {
  readonly k: Tensor;
  readonly v: Tensor;
  /** Scalar strength (a graph input, so one graph serves every scale). */
  readonly scale: Tensor;
}

function withAdapter(
  g: Graph,
  imageAttention: Tensor,
  imageQueries: Tensor,
  adapter?: AdapterBranch,
): Tensor {
  if (!adapter) return imageAttention;
  const dtype = imageQueries.dtype;
  const extra = mergeHeads(
    g,
    fusedAttention(g, imageQueries, castTo(g, adapter.k, dtype), castTo(g, adapter.v, dtype)),
  );
  return g.add(imageAttention, g.mul(extra, castTo(g, adapter.scale, dtype)));
}

/**
 * Where a block's keys and values may be read or replaced (KV injection). K and V are taken
 * after QK normalisation and before RoPE; the same positions are used on capture and injection,
 * so replacing them replaces the rotated ones too.
 */
export type KvHook = (k: Tensor, v: Tensor) => { k: Tensor; v: Tensor };

export interface BlockHooks {
  /** Double blocks: image-token K/V; single blocks: text+image K/V. */
  readonly kv?: KvHook;
  readonly adapter?: AdapterBranch;
}

export interface DoubleStreamOut {
  readonly img: Tensor;
  readonly txt: Tensor;
  /** The image stream after norm1 modulation: the attention input, a DragFlow feature. */
  readonly imgModulated: Tensor;
}

function gelu(g: Graph, x: Tensor): Tensor {
  return g.gelu(x, 'tanh');
}

/** img/txt streams with their own weights, joint attention over [txt, img] tokens. */
export function doubleStreamBlock(
  p: ParamBinder,
  prefix: string,
  config: FluxConfig,
  streams: { img: Tensor; txt: Tensor; vec: Tensor; pe: RotaryTables },
  hooks: BlockHooks = {},
): DoubleStreamOut {
  const g = p.graph;
  const { img, txt, vec, pe } = streams;
  const heads = config.numHeads;
  const [imgMod1, imgMod2] = modulation(p, `${prefix}.img_mod`, vec, true) as [ModulationOut, ModulationOut];
  const [txtMod1, txtMod2] = modulation(p, `${prefix}.txt_mod`, vec, true) as [ModulationOut, ModulationOut];

  const imgModulated = modulate(g, img, imgMod1);
  const imgQkv = qkvHeads(
    p,
    `${prefix}.img_attn.norm`,
    linear(p, `${prefix}.img_attn.qkv`, imgModulated, config.qkvBias),
    heads,
  );
  const txtModulated = modulate(g, txt, txtMod1);
  const txtQkv = qkvHeads(
    p,
    `${prefix}.txt_attn.norm`,
    linear(p, `${prefix}.txt_attn.qkv`, txtModulated, config.qkvBias),
    heads,
  );
  const imgKv = hooks.kv ? hooks.kv(imgQkv.k, imgQkv.v) : imgQkv;

  const q = g.concat([txtQkv.q, imgQkv.q], 2);
  const k = g.concat([txtQkv.k, imgKv.k], 2);
  const v = g.concat([txtQkv.v, imgKv.v], 2);
  const textTokens = txt.shape[1]!;
  const [txtAttn, imgAttnRaw] = g.split(attention(g, q, k, v, pe), [textTokens, img.shape[1]!], 1) as [
    Tensor,
    Tensor,
  ];
  const imgAttn = withAdapter(g, imgAttnRaw, imgQkv.q, hooks.adapter);

  const residual = (
    x: Tensor,
    attn: Tensor,
    stream: 'img' | 'txt',
    mod1: ModulationOut,
    mod2: ModulationOut,
  ) => {
    const afterAttn = g.add(x, g.mul(mod1.gate, linear(p, `${prefix}.${stream}_attn.proj`, attn)));
    const hidden = gelu(g, linear(p, `${prefix}.${stream}_mlp.0`, modulate(g, afterAttn, mod2)));
    return g.add(afterAttn, g.mul(mod2.gate, linear(p, `${prefix}.${stream}_mlp.2`, hidden)));
  };
  return {
    img: residual(img, imgAttn, 'img', imgMod1, imgMod2),
    txt: residual(txt, txtAttn, 'txt', txtMod1, txtMod2),
    imgModulated,
  };
}

/** One stream over [txt, img] tokens; attention and MLP run in parallel from one fused linear. */
export function singleStreamBlock(
  p: ParamBinder,
  prefix: string,
  config: FluxConfig,
  streams: { x: Tensor; vec: Tensor; pe: RotaryTables; textTokens: number },
  hooks: BlockHooks = {},
): Tensor {
  const g = p.graph;
  const { x, vec, pe, textTokens } = streams;
  const hidden = config.hiddenSize;
  const [mod] = modulation(p, `${prefix}.modulation`, vec, false) as [ModulationOut];
  const [qkv, mlp] = g.split(
    linear(p, `${prefix}.linear1`, modulate(g, x, mod)),
    [3 * hidden, mlpHiddenDim(config)],
    -1,
  ) as [Tensor, Tensor];
  const heads = qkvHeads(p, `${prefix}.norm`, qkv, config.numHeads);
  const kv = hooks.kv ? hooks.kv(heads.k, heads.v) : heads;
  let attn = attention(g, heads.q, kv.k, kv.v, pe);
  if (hooks.adapter) {
    const imageTokens = x.shape[1]! - textTokens;
    const [txtAttn, imgAttn] = g.split(attn, [textTokens, imageTokens], 1) as [Tensor, Tensor];
    const imgQueries = g.slice(heads.q, [textTokens], [textTokens + imageTokens], [2]);
    attn = g.concat([txtAttn, withAdapter(g, imgAttn, imgQueries, hooks.adapter)], 1);
  }
  const output = linear(p, `${prefix}.linear2`, g.concat([attn, gelu(g, mlp)], 2));
  return g.add(x, g.mul(mod.gate, output));
}

/** adaLN (shift, scale) from vec, then the projection back to packed latent channels. */
export function lastLayer(p: ParamBinder, prefix: string, x: Tensor, vec: Tensor): Tensor {
  const g = p.graph;
  const hidden = vec.shape[1]!;
  const mod = g.unsqueeze(linear(p, `${prefix}.adaLN_modulation.1`, g.silu(vec)), [1]);
  const [shift, scale] = g.split(mod, [hidden, hidden], -1) as [Tensor, Tensor];
  return linear(p, `${prefix}.linear`, modulate(g, x, { shift, scale }));
}
