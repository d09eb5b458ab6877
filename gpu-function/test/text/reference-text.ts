/**
 * Independent plain-TypeScript forward passes of T5 v1.1's encoder and CLIP's text model for tests
 * (one sequence, float64, rows of numbers), written from the Hugging Face modules' math rather than
 * from the graph code.
 */
import type { ClipTextConfig, T5Config } from '../../src/text/config.ts';

type Rows = number[][];
type Weights = ReadonlyMap<string, Float32Array>;

function rows(data: Float32Array, width: number): Rows {
  const out: Rows = [];
  for (let i = 0; i < data.length; i += width) out.push(Array.from(data.subarray(i, i + width)));
  return out;
}

/** y = x W^T (+ b) with W [out, in] row-major. */
function dense(x: Rows, weight: Float32Array, outDim: number, bias?: Float32Array): Rows {
  const inDim = weight.length / outDim;
  return x.map((row) =>
    Array.from({ length: outDim }, (_, o) => {
      let sum = bias ? bias[o]! : 0;
      for (let i = 0; i < inDim; i++) sum += row[i]! * weight[o * inDim + i]!;
      return sum;
    }),
  );
}

function addRows(a: Rows, b: Rows): Rows {
  return a.map((row, i) => row.map((v, j) => v + b[i]![j]!));
}

function softmaxRow(row: number[]): number[] {
  const max = Math.max(...row);
  const e = row.map((v) => Math.exp(v - max));
  const sum = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / sum);
}

/** Multi-head attention over one sequence; `score(h, i, j)` adds to the raw q.k product. */
function attention(
  q: Rows,
  k: Rows,
  v: Rows,
  heads: number,
  scale: number,
  allowed: (i: number, j: number) => boolean,
  extra: (h: number, i: number, j: number) => number,
): Rows {
  const width = q[0]!.length;
  const d = width / heads;
  const out: Rows = q.map(() => new Array<number>(width).fill(0));
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < q.length; i++) {
      const scores: number[] = [];
      const keys: number[] = [];
      for (let j = 0; j < k.length; j++) {
        if (!allowed(i, j)) continue;
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[i]![h * d + c]! * k[j]![h * d + c]!;
        scores.push(dot * scale + extra(h, i, j));
        keys.push(j);
      }
      const p = softmaxRow(scores);
      keys.forEach((j, n) => {
        for (let c = 0; c < d; c++) out[i]![h * d + c]! += p[n]! * v[j]![h * d + c]!;
      });
    }
  }
  return out;
}

function get(weights: Weights, name: string): Float32Array {
  const w = weights.get(name);
  if (!w) throw new Error(`reference: no weight ${name}`);
  return w;
}

function embed(ids: readonly number[], table: Float32Array, width: number): Rows {
  return ids.map((id) => Array.from(table.subarray(id * width, (id + 1) * width)));
}

// ---- T5 ------------------------------------------------------------------------------------

/** T5's bidirectional relative-position bucket of key position minus query position. */
export function referenceT5Bucket(config: T5Config, relative: number): number {
  const perSide = config.relativeAttentionNumBuckets / 2;
  const exactBelow = perSide / 2;
  const base = relative > 0 ? perSide : 0;
  const distance = Math.abs(relative);
  if (distance < exactBelow) return base + distance;
  const logRatio =
    Math.log(distance / exactBelow) / Math.log(config.relativeAttentionMaxDistance / exactBelow);
  return base + Math.min(exactBelow + Math.floor(logRatio * (perSide - exactBelow)), perSide - 1);
}

/** x / sqrt(mean(x^2) + eps) * w, per row. */
function t5Norm(x: Rows, weight: Float32Array, eps: number): Rows {
  return x.map((row) => {
    const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
    const inv = 1 / Math.sqrt(ms + eps);
    return row.map((v, i) => v * inv * weight[i]!);
  });
}

function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

/** last_hidden_state [T][dModel] of T5EncoderModel for one padded id sequence (no attention mask). */
export function referenceT5(config: T5Config, weights: Weights, ids: readonly number[]): Rows {
  const d = config.dModel;
  const inner = config.numHeads * config.dKv;
  const table = get(weights, 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  const bias = (h: number, i: number, j: number) =>
    table[referenceT5Bucket(config, j - i) * config.numHeads + h]!;
  let x = embed(ids, get(weights, 'shared.weight'), d);
  for (let l = 0; l < config.numLayers; l++) {
    const a = `encoder.block.${l}.layer.0`;
    const f = `encoder.block.${l}.layer.1`;
    const n = t5Norm(x, get(weights, `${a}.layer_norm.weight`), config.layerNormEpsilon);
    const [q, k, v] = ['q', 'k', 'v'].map((w) =>
      dense(n, get(weights, `${a}.SelfAttention.${w}.weight`), inner),
    );
    const att = attention(q!, k!, v!, config.numHeads, 1, () => true, bias);
    x = addRows(x, dense(att, get(weights, `${a}.SelfAttention.o.weight`), d));
    const m = t5Norm(x, get(weights, `${f}.layer_norm.weight`), config.layerNormEpsilon);
    const gate = dense(m, get(weights, `${f}.DenseReluDense.wi_0.weight`), config.dFf);
    const up = dense(m, get(weights, `${f}.DenseReluDense.wi_1.weight`), config.dFf);
    const hidden = gate.map((row, i) => row.map((g, c) => geluTanh(g) * up[i]![c]!));
    x = addRows(x, dense(hidden, get(weights, `${f}.DenseReluDense.wo.weight`), d));
  }
  return t5Norm(x, get(weights, 'encoder.final_layer_norm.weight'), config.layerNormEpsilon);
}

// ---- CLIP ----------------------------------------------------------------------------------

function layerNorm(x: Rows, weight: Float32Array, bias: Float32Array, eps: number): Rows {
  return x.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
    const inv = 1 / Math.sqrt(variance + eps);
    return row.map((v, i) => (v - mean) * inv * weight[i]! + bias[i]!);
  });
}

/** CLIPTextModel for one id sequence: every token's final hidden state and the pooled vector. */
export function referenceClip(
  config: ClipTextConfig,
  weights: Weights,
  ids: readonly number[],
): { last: Rows; pooled: number[]; eotPosition: number } {
  const h = config.hiddenSize;
  const w = (name: string) => get(weights, name);
  const positions = rows(w('text_model.embeddings.position_embedding.weight'), h);
  let x = embed(ids, w('text_model.embeddings.token_embedding.weight'), h).map((row, i) =>
    row.map((v, c) => v + positions[i]![c]!),
  );
  const eps = config.layerNormEpsilon;
  for (let l = 0; l < config.numLayers; l++) {
    const p = `text_model.encoder.layers.${l}`;
    const n = layerNorm(x, w(`${p}.layer_norm1.weight`), w(`${p}.layer_norm1.bias`), eps);
    const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((m) =>
      dense(n, w(`${p}.self_attn.${m}.weight`), h, w(`${p}.self_attn.${m}.bias`)),
    );
    const scale = (h / config.numHeads) ** -0.5;
    const att = attention(
      q!,
      k!,
      v!,
      config.numHeads,
      scale,
      (i, j) => j <= i,
      () => 0,
    );
    x = addRows(x, dense(att, w(`${p}.self_attn.out_proj.weight`), h, w(`${p}.self_attn.out_proj.bias`)));
    const m = layerNorm(x, w(`${p}.layer_norm2.weight`), w(`${p}.layer_norm2.bias`), eps);
    const fc1 = dense(m, w(`${p}.mlp.fc1.weight`), config.intermediateSize, w(`${p}.mlp.fc1.bias`));
    const act = fc1.map((row) => row.map((v) => v / (1 + Math.exp(-1.702 * v))));
    x = addRows(x, dense(act, w(`${p}.mlp.fc2.weight`), h, w(`${p}.mlp.fc2.bias`)));
  }
  const last = layerNorm(
    x,
    w('text_model.final_layer_norm.weight'),
    w('text_model.final_layer_norm.bias'),
    eps,
  );
  const eotPosition = ids.indexOf(config.eosTokenId);
  return { last, pooled: last[eotPosition]!, eotPosition };
}
