/**
 * An independent plain-TypeScript FLUX forward pass for tests (batch 1, float64, rows of
 * numbers), written from the reference model's math rather than from the graph code, plus
 * the small fixtures the transformer tests share.
 */
import type { ParamSpec } from '../../src/flux/checkpoint-keys.ts';
import { type FluxConfig, headDim, mlpHiddenDim } from '../../src/flux/config.ts';

type Rows = number[][];

export interface ReferenceCall {
  img: Rows;
  imgIds: Rows;
  txt: Rows;
  txtIds: Rows;
  timestep: number;
  y: number[];
  guidance?: number;
  /** Per block `${kind}.${i}`: adapter keys/values [H][N][D]. */
  adapter?: { scale: number; kv: Map<string, { k: number[][][]; v: number[][][] }> };
}

/** A deterministic pseudo-random source in [-0.5, 0.5) (Park-Miller). */
export function randomSource(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647 - 0.5;
  };
}

/** Random weights for every spec, scaled so activations stay O(1) through a few blocks. */
export function randomWeights(specs: readonly ParamSpec[], seed: number): Map<string, Float32Array> {
  const random = randomSource(seed);
  const weights = new Map<string, Float32Array>();
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const fanIn = spec.shape.length > 1 ? spec.shape.slice(1).reduce((a, b) => a * b, 1) : 4;
    const isScale = spec.name.endsWith('.scale');
    weights.set(
      spec.name,
      Float32Array.from({ length: size }, () =>
        isScale ? 1 + random() * 0.4 : (2 * random()) / Math.sqrt(fanIn),
      ),
    );
  }
  return weights;
}

/** Random values in [-1, 1). */
export function randomArray(random: () => number, length: number): Float32Array {
  return Float32Array.from({ length }, () => 2 * random());
}

/** Largest |actual - expected| relative to the largest |expected|. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / scale);
  return worst;
}

export function toRows(data: Float32Array, rows: number, cols: number): Rows {
  return Array.from({ length: rows }, (_, r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));
}

export function referenceFlux(
  config: FluxConfig,
  weights: Map<string, Float32Array>,
  call: ReferenceCall,
): Rows {
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: no weight ${name}`);
    return value;
  };
  const hidden = config.hiddenSize;
  const heads = config.numHeads;
  const d = headDim(config);

  const lin = (x: Rows, name: string, bias = true): Rows => {
    const weight = w(`${name}.weight`);
    const inDim = x[0]!.length;
    const outDim = weight.length / inDim;
    const b = bias ? w(`${name}.bias`) : undefined;
    return x.map((row) =>
      Array.from({ length: outDim }, (_, o) => {
        let sum = b ? b[o]! : 0;
        for (let i = 0; i < inDim; i++) sum += weight[o * inDim + i]! * row[i]!;
        return sum;
      }),
    );
  };
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const layerNorm = (x: Rows): Rows =>
    x.map((row) => {
      const mean = row.reduce((a, b) => a + b, 0) / row.length;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
      return row.map((v) => (v - mean) / Math.sqrt(variance + 1e-6));
    });
  const embed = (t: number, dim: number) => {
    const half = dim / 2;
    const args = Array.from({ length: half }, (_, j) => 1000 * t * Math.exp((-Math.log(10000) * j) / half));
    return [...args.map(Math.cos), ...args.map(Math.sin)];
  };
  const mlpEmbed = (name: string, x: number[]) =>
    lin(
      lin([x], `${name}.in_layer`).map((r) => r.map(silu)),
      `${name}.out_layer`,
    )[0]!;
  const add = (a: number[], b: number[]) => a.map((v, i) => v + b[i]!);

  let vec = mlpEmbed('time_in', embed(call.timestep, config.timestepEmbedDim));
  if (config.guidanceEmbed)
    vec = add(vec, mlpEmbed('guidance_in', embed(call.guidance!, config.timestepEmbedDim)));
  vec = add(vec, mlpEmbed('vector_in', call.y));
  const mods = (name: string, count: number) => {
    const out = lin([vec.map(silu)], name)[0]!;
    return Array.from({ length: count }, (_, i) => out.slice(i * hidden, (i + 1) * hidden));
  };
  const modulate = (x: Rows, shift: number[], scale: number[]) =>
    layerNorm(x).map((row) => row.map((v, i) => (1 + scale[i]!) * v + shift[i]!));

  const ids = [...call.txtIds, ...call.imgIds];
  const angle = (token: number, pair: number) => {
    let axis = 0;
    let first = 0;
    while (pair >= first + config.axesDim[axis]! / 2) first += config.axesDim[axis++]! / 2;
    const dim = config.axesDim[axis]!;
    return ids[token]![axis]! * config.theta ** ((-2 * (pair - first)) / dim);
  };
  const rope = (x: number[], token: number) => {
    const out = [...x];
    for (let j = 0; j < d / 2; j++) {
      const a = angle(token, j);
      out[2 * j] = Math.cos(a) * x[2 * j]! - Math.sin(a) * x[2 * j + 1]!;
      out[2 * j + 1] = Math.sin(a) * x[2 * j]! + Math.cos(a) * x[2 * j + 1]!;
    }
    return out;
  };
  // [tokens][3*hidden] -> per head [H][tokens][D] for q, k (RMS-normed) and v.
  const headsOf = (qkv: Rows, normName: string) => {
    const rms = (x: number[], scale: Float32Array) => {
      const r = Math.sqrt(x.reduce((a, b) => a + b * b, 0) / x.length + 1e-6);
      return x.map((v, i) => (v / r) * scale[i]!);
    };
    const pick = (part: number, h: number) =>
      qkv.map((row) => row.slice(part * hidden + h * d, part * hidden + (h + 1) * d));
    return Array.from({ length: heads }, (_, h) => ({
      q: pick(0, h).map((x) => rms(x, w(`${normName}.query_norm.scale`))),
      k: pick(1, h).map((x) => rms(x, w(`${normName}.key_norm.scale`))),
      v: pick(2, h),
    }));
  };
  const softmaxAttend = (q: Rows, k: Rows, v: Rows): Rows =>
    q.map((qi) => {
      const scores = k.map((kj) => kj.reduce((a, b, c) => a + b * qi[c]!, 0) / Math.sqrt(d));
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const total = e.reduce((a, b) => a + b, 0);
      return Array.from({ length: d }, (_, c) => e.reduce((a, p, j) => a + (p / total) * v[j]![c]!, 0));
    });
  // Joint attention with RoPE over all tokens (ids index = position in the joint sequence).
  const attend = (per: { q: Rows; k: Rows; v: Rows }[], offset: number): Rows => {
    const outs = per.map(({ q, k, v }) =>
      softmaxAttend(
        q.map((x, n) => rope(x, n + offset)),
        k.map((x, n) => rope(x, n + offset)),
        v,
      ),
    );
    return outs[0]!.map((_, n) => outs.flatMap((o) => o[n]!));
  };
  const adapterAdd = (attn: Rows, queries: { q: Rows }[], key: string): Rows => {
    const branch = call.adapter?.kv.get(key);
    if (!call.adapter || !branch) return attn;
    const outs = queries.map(({ q }, h) => softmaxAttend(q, branch.k[h]!, branch.v[h]!));
    return attn.map((row, n) =>
      row.map((v, c) => v + call.adapter!.scale * outs[Math.floor(c / d)]![n]![c % d]!),
    );
  };

  let img = lin(call.img, 'img_in');
  let txt = lin(call.txt, 'txt_in');
  const t = txt.length;
  for (let i = 0; i < config.depth; i++) {
    const p = `double_blocks.${i}`;
    const [is1, isc1, ig1, is2, isc2, ig2] = mods(`${p}.img_mod.lin`, 6) as number[][];
    const [ts1, tsc1, tg1, ts2, tsc2, tg2] = mods(`${p}.txt_mod.lin`, 6) as number[][];
    const imgHeads = headsOf(
      lin(modulate(img, is1!, isc1!), `${p}.img_attn.qkv`, config.qkvBias),
      `${p}.img_attn.norm`,
    );
    const txtHeads = headsOf(
      lin(modulate(txt, ts1!, tsc1!), `${p}.txt_attn.qkv`, config.qkvBias),
      `${p}.txt_attn.norm`,
    );
    const joint = txtHeads.map((th, h) => ({
      q: [...th.q, ...imgHeads[h]!.q],
      k: [...th.k, ...imgHeads[h]!.k],
      v: [...th.v, ...imgHeads[h]!.v],
    }));
    const attn = attend(joint, 0);
    const imgAttn = adapterAdd(attn.slice(t), imgHeads, `double.${i}`);
    const stream = (
      x: Rows,
      a: Rows,
      name: string,
      g1: number[],
      s2: number[],
      sc2: number[],
      g2: number[],
    ) => {
      const proj = lin(a, `${p}.${name}_attn.proj`);
      const after = x.map((row, n) => row.map((v, c) => v + g1[c]! * proj[n]![c]!));
      const mlp = lin(
        lin(modulate(after, s2, sc2), `${p}.${name}_mlp.0`).map((r) => r.map(gelu)),
        `${p}.${name}_mlp.2`,
      );
      return after.map((row, n) => row.map((v, c) => v + g2[c]! * mlp[n]![c]!));
    };
    img = stream(img, imgAttn, 'img', ig1!, is2!, isc2!, ig2!);
    txt = stream(txt, attn.slice(0, t), 'txt', tg1!, ts2!, tsc2!, tg2!);
  }
  let x = [...txt, ...img];
  const m = mlpHiddenDim(config);
  for (let i = 0; i < config.depthSingleBlocks; i++) {
    const p = `single_blocks.${i}`;
    const [shift, scale, gate] = mods(`${p}.modulation.lin`, 3) as number[][];
    const fused = lin(modulate(x, shift!, scale!), `${p}.linear1`);
    const perHead = headsOf(
      fused.map((r) => r.slice(0, 3 * hidden)),
      `${p}.norm`,
    );
    const attn = attend(perHead, 0);
    const imgQueries = perHead.map((h) => ({ q: h.q.slice(t) }));
    const withAdapter = [...attn.slice(0, t), ...adapterAdd(attn.slice(t), imgQueries, `single.${i}`)];
    const joined = withAdapter.map((row, n) => [
      ...row,
      ...fused[n]!.slice(3 * hidden, 3 * hidden + m).map(gelu),
    ]);
    const out = lin(joined, `${p}.linear2`);
    x = x.map((row, n) => row.map((v, c) => v + gate![c]! * out[n]![c]!));
  }
  const [shift, scale] = (() => {
    const out = lin([vec.map(silu)], 'final_layer.adaLN_modulation.1')[0]!;
    return [out.slice(0, hidden), out.slice(hidden)];
  })();
  return lin(modulate(x.slice(t), shift, scale), 'final_layer.linear');
}

/**
 * DragFlow's supervision map from tapped activations [L, hidden] (one per tap, batch 1), as the
 * reference code builds it: each unpacked "(h w) (c ph pw) -> c (h ph) (w pw)" to [hidden/4, 2h, 2w],
 * resized with torch interpolate(mode='bilinear', align_corners=False) to `map`, concatenated along
 * channels. Plain float64 loops, not the graph's ops.
 */
export function referenceFeatures(
  taps: readonly Float32Array[],
  grid: { height: number; width: number },
  hidden: number,
  map: { height: number; width: number },
): Float64Array {
  const channels = hidden / 4;
  const inH = 2 * grid.height;
  const inW = 2 * grid.width;
  // torch: source = (dst + 0.5) * in / out - 0.5, clamped below at 0; the upper tap clamps to the edge.
  const axis = (inSize: number, outSize: number) =>
    Array.from({ length: outSize }, (_, o) => {
      const s = Math.max((o + 0.5) * (inSize / outSize) - 0.5, 0);
      const low = Math.min(Math.floor(s), inSize - 1);
      return { low, high: Math.min(low + 1, inSize - 1), frac: s - low };
    });
  const rows = axis(inH, map.height);
  const cols = axis(inW, map.width);
  const out = new Float64Array(taps.length * channels * map.height * map.width);
  taps.forEach((tokens, t) => {
    // Unpacked value of channel c at latent pixel (y, x).
    const at = (c: number, y: number, x: number) => {
      const token = Math.floor(y / 2) * grid.width + Math.floor(x / 2);
      return tokens[token * hidden + c * 4 + (y % 2) * 2 + (x % 2)]!;
    };
    for (let c = 0; c < channels; c++) {
      for (let oy = 0; oy < map.height; oy++) {
        const r = rows[oy]!;
        for (let ox = 0; ox < map.width; ox++) {
          const k = cols[ox]!;
          const top = at(c, r.low, k.low) * (1 - k.frac) + at(c, r.low, k.high) * k.frac;
          const bottom = at(c, r.high, k.low) * (1 - k.frac) + at(c, r.high, k.high) * k.frac;
          out[((t * channels + c) * map.height + oy) * map.width + ox] = top * (1 - r.frac) + bottom * r.frac;
        }
      }
    }
  });
  return out;
}
