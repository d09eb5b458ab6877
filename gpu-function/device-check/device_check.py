"""
dragflow device check, for a machine with an NVIDIA GPU, Python and torch (no Node, no
onnxruntime-gpu needed).

What it can and cannot show. The device machine this project is lent has torch with CUDA and a
CPU-only onnxruntime, and no Node: dragflow's runtime (onnxruntime-node with its CUDA provider)
cannot run there. So this script does NOT measure onnxruntime: not its kernel placement (Memcpy
nodes), not its arena, not its speed. It runs dragflow's own graphs, exported as JSON by
`npm run device:check` (the same graphs the CUDA runtime would open: bfloat16 transformer with
fused Attention/RotaryEmbedding and the explicit drag-step gradient, float32 VAE), node by node
with torch kernels on the GPU (cuBLAS bfloat16 GEMMs, flash / memory-efficient attention for
Attention), freeing each tensor after its last reader as onnxruntime's planner does. It reports
seconds per call (capture, inject, features, drag step), the time of an edit's sequence of calls at
512x512 (paper preset), and peak GPU memory (torch's allocator: weights + activations + kernel
workspaces). Weights are synthetic (random bfloat16 with FLUX-like scales) and generated on the GPU.

    python3 device_check.py <folder written by npm run device:check> [--calls N]
"""

import argparse
import base64
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

DTYPES = {
    'float32': torch.float32,
    'float16': torch.float16,
    'bfloat16': torch.bfloat16,
    'float64': torch.float64,
    'int64': torch.int64,
    'int32': torch.int32,
    'bool': torch.bool,
    'uint8': torch.uint8,
}
ONNX_CODES = {1: torch.float32, 2: torch.uint8, 6: torch.int32, 7: torch.int64, 9: torch.bool,
              10: torch.float16, 11: torch.float64, 16: torch.bfloat16}


def constant(init, device):
    raw = base64.b64decode(init['base64'])
    dtype = DTYPES[init['dtype']]
    if not raw:  # an empty shape (a reshape to a scalar)
        return torch.empty(init['shape'], dtype=dtype, device=device)
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(init['shape']).to(device)


def synthetic_param(init, device, generator):
    """FLUX-like magnitudes: linear weights ~ 1/sqrt(fan_in), norm scales ~ 1, biases small."""
    shape = init['shape']
    dtype = DTYPES[init['dtype']]
    name = init['name']
    if name.endswith('.scale') or (name.endswith('.weight') and 'norm' in name and len(shape) == 1):
        return torch.ones(shape, dtype=dtype, device=device)
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
    std = 1 / math.sqrt(fan_in) if len(shape) > 1 else 0.02
    return (torch.randn(shape, generator=generator, device=device, dtype=torch.float32) * std).to(dtype)


def ints(env, name):
    return [int(v) for v in env[name].tolist()]


def normalized(axis, rank):
    return axis + rank if axis < 0 else axis


def op_slice(env, node):
    x = env[node['inputs'][0]]
    starts, ends = ints(env, node['inputs'][1]), ints(env, node['inputs'][2])
    axes = ints(env, node['inputs'][3]) if len(node['inputs']) > 3 and node['inputs'][3] else list(range(len(starts)))
    steps = ints(env, node['inputs'][4]) if len(node['inputs']) > 4 and node['inputs'][4] else [1] * len(starts)
    index = [slice(None)] * x.dim()
    for s, e, a, st in zip(starts, ends, axes, steps):
        if st <= 0:
            raise NotImplementedError('Slice with a non-positive step')
        index[normalized(a, x.dim())] = slice(s, e, st)
    return [x[tuple(index)]]


def op_unsqueeze(env, node):
    x = env[node['inputs'][0]]
    rank = x.dim() + len(ints(env, node['inputs'][1]))
    for a in sorted(normalized(a, rank) for a in ints(env, node['inputs'][1])):
        x = x.unsqueeze(a)
    return [x]


def op_layer_norm(env, node):
    x, scale = env[node['inputs'][0]], env[node['inputs'][1]]
    bias = env[node['inputs'][2]] if len(node['inputs']) > 2 and node['inputs'][2] else None
    axis = normalized(node['attrs'].get('axis', -1), x.dim())
    dims = tuple(range(axis, x.dim()))
    xf = x.float()
    mean = xf.mean(dims, keepdim=True)
    inv = torch.rsqrt(((xf - mean) ** 2).mean(dims, keepdim=True) + node['attrs']['epsilon']['float'])
    y = (xf - mean) * inv * scale.float()
    if bias is not None:
        y = y + bias.float()
    return [y.to(x.dtype), mean, inv]


def op_rms_norm(env, node):
    x, scale = env[node['inputs'][0]], env[node['inputs'][1]]
    xf = x.float()
    inv = torch.rsqrt((xf * xf).mean(-1, keepdim=True) + node['attrs']['epsilon']['float'])
    return [(xf * inv * scale.float()).to(x.dtype)]


def op_rotary(env, node):
    x, cos, sin = (env[n] for n in node['inputs'][:3])
    c, s = cos[:, None], sin[:, None]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return [torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)]


def op_gemm(env, node):
    a, b = env[node['inputs'][0]], env[node['inputs'][1]]
    attrs = node['attrs']
    if attrs.get('transA', 0):
        a = a.t()
    if attrs.get('transB', 0):
        b = b.t()
    alpha = attrs.get('alpha', {'float': 1.0})['float']
    beta = attrs.get('beta', {'float': 1.0})['float']
    c = env[node['inputs'][2]] if len(node['inputs']) > 2 and node['inputs'][2] else None
    if c is None:
        y = a @ b
        return [y * alpha if alpha != 1 else y]
    return [torch.addmm(c.expand(a.shape[0], b.shape[1]), a, b, beta=beta, alpha=alpha)]


def op_resize(env, node):
    x = env[node['inputs'][0]]
    sizes = ints(env, node['inputs'][3])[2:]
    mode = node['attrs'].get('mode', 'nearest')
    coordinates = node['attrs'].get('coordinate_transformation_mode', 'half_pixel')
    if mode == 'nearest':
        if coordinates != 'asymmetric':
            raise NotImplementedError(f'Resize nearest with {coordinates}')
        return [F.interpolate(x, size=sizes, mode='nearest')]
    return [F.interpolate(x, size=sizes, mode='bilinear', align_corners=coordinates == 'align_corners')]


def op_conv(env, node):
    x, w = env[node['inputs'][0]], env[node['inputs'][1]]
    b = env[node['inputs'][2]] if len(node['inputs']) > 2 and node['inputs'][2] else None
    attrs = node['attrs']
    pads = attrs.get('pads', [0, 0, 0, 0])
    top, left, bottom, right = pads
    if top != bottom or left != right:
        x = F.pad(x, (left, right, top, bottom))
        padding = 0
    else:
        padding = (top, left)
    return [F.conv2d(x, w, b, stride=tuple(attrs.get('strides', [1, 1])), padding=padding,
                     dilation=tuple(attrs.get('dilations', [1, 1])), groups=attrs.get('group', 1))]


# torch 2.1+ takes the scale: flash / memory-efficient attention. Older torch (the CPU self-test on
# Debian's 1.13) spells attention out.
FUSED_ATTENTION = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2]) >= (2, 1)


def attention(q, k, v, scale):
    if FUSED_ATTENTION:
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    return torch.softmax((q @ k.transpose(-1, -2)) * scale, -1) @ v


def reduce(fn):
    def run(env, node):
        x = env[node['inputs'][0]]
        axes = ints(env, node['inputs'][1]) if len(node['inputs']) > 1 and node['inputs'][1] else list(range(x.dim()))
        return [fn(x, tuple(normalized(a, x.dim()) for a in axes), bool(node['attrs'].get('keepdims', 1)))]
    return run


def unary(fn):
    return lambda env, node: [fn(env[node['inputs'][0]])]


def binary(fn):
    return lambda env, node: [fn(env[node['inputs'][0]], env[node['inputs'][1]])]


OPS = {
    'Add': binary(torch.add), 'Sub': binary(torch.sub), 'Mul': binary(torch.mul), 'Div': binary(torch.div),
    'Pow': binary(torch.pow), 'Greater': binary(torch.gt), 'Less': binary(torch.lt), 'Equal': binary(torch.eq),
    'Neg': unary(torch.neg), 'Abs': unary(torch.abs), 'Sign': unary(torch.sign), 'Sqrt': unary(torch.sqrt),
    'Exp': unary(torch.exp), 'Log': unary(torch.log), 'Erf': unary(torch.erf), 'Tanh': unary(torch.tanh),
    'Sigmoid': unary(torch.sigmoid), 'Relu': unary(torch.relu), 'Floor': unary(torch.floor),
    'Sin': unary(torch.sin), 'Cos': unary(torch.cos), 'Identity': unary(lambda x: x),
    'Gelu': lambda env, node: [F.gelu(env[node['inputs'][0]], approximate=node['attrs'].get('approximate', 'none'))],
    'Cast': lambda env, node: [env[node['inputs'][0]].to(ONNX_CODES[node['attrs']['to']])],
    'Concat': lambda env, node: [torch.cat([env[n] for n in node['inputs']], node['attrs'].get('axis', 0))],
    'Split': lambda env, node: list(torch.split(env[node['inputs'][0]], ints(env, node['inputs'][1]),
                                                node['attrs'].get('axis', 0))),
    'Slice': op_slice,
    'Reshape': lambda env, node: [env[node['inputs'][0]].reshape(ints(env, node['inputs'][1]))],
    'Transpose': lambda env, node: [env[node['inputs'][0]].permute(node['attrs']['perm'])],
    'Unsqueeze': op_unsqueeze,
    'Squeeze': lambda env, node: [env[node['inputs'][0]].squeeze(tuple(ints(env, node['inputs'][1])))],
    'Expand': lambda env, node: [env[node['inputs'][0]].expand(
        torch.broadcast_shapes(env[node['inputs'][0]].shape, tuple(ints(env, node['inputs'][1]))))],
    'Where': lambda env, node: [torch.where(env[node['inputs'][0]], env[node['inputs'][1]], env[node['inputs'][2]])],
    'Gemm': op_gemm,
    'MatMul': binary(torch.matmul),
    'Softmax': lambda env, node: [torch.softmax(env[node['inputs'][0]], node['attrs'].get('axis', -1))],
    'LayerNormalization': op_layer_norm,
    'RMSNormalization': op_rms_norm,
    'ReduceMean': reduce(lambda x, axes, keep: x.mean(axes, keepdim=keep)),
    'ReduceSum': reduce(lambda x, axes, keep: x.sum(axes, keepdim=keep)),
    'Resize': op_resize,
    'Conv': op_conv,
    'Attention': lambda env, node: [attention(*(env[n] for n in node['inputs'][:3]), node['attrs']['scale']['float'])],
    'RotaryEmbedding': op_rotary,
}


def reads(nodes):
    """Every name the node list reads (nested branches included) that it does not produce."""
    produced, read = set(), []
    for node in nodes:
        read.extend(n for n in node['inputs'] if n)
        for branch in node.get('branches', []):
            read.extend(reads(branch['nodes']))
        produced.update(node['outputs'])
    return [n for n in read if n not in produced]


def node_reads(node):
    """What running the node reads: its inputs and, for an If, all its branches read (cached)."""
    if '_reads' not in node:
        node['_reads'] = set(n for n in node['inputs'] if n) | set(
            n for branch in node.get('branches', []) for n in reads(branch['nodes']))
    return node['_reads']


class Executor:
    """Runs a graph JSON with torch; frees each tensor after its last reader in the run."""

    def __init__(self, graph, device, seed=1, params=None):
        self.graph = graph
        self.device = device
        generator = torch.Generator(device=device).manual_seed(seed)
        self.weights = {}
        for init in graph['initializers']:
            if init['kind'] == 'param':
                given = params.get(init['name']) if params else None
                self.weights[init['name']] = given if given is not None else synthetic_param(init, device, generator)
            else:
                # Shape and axis constants stay on the host side of torch (read with .tolist()).
                self.weights[init['name']] = constant(init, 'cpu' if init['dtype'] == 'int64' else device)
        self.outputs = {o['tensor']: o['name'] for o in graph['outputs']}

    def run(self, feeds, switches):
        env = dict(self.weights)
        env.update(feeds)
        env.update(switches)
        self._run(self.graph['nodes'], env, set(self.outputs), switches)
        return {name: env[tensor] for tensor, name in self.outputs.items()}

    def _run(self, nodes, env, keep, switches):
        # Last reader of each name in this list (an If holds whatever its branches read).
        last = {}
        for i, node in enumerate(nodes):
            for n in node_reads(node):
                last[n] = i
        for i, node in enumerate(nodes):
            if node['op'] == 'If':
                cond = bool(env[node['inputs'][0]].item())
                branch = node['branches'][0 if cond else 1]
                inner = dict(env)
                self._run(branch['nodes'], inner, set(branch['outputs']), switches)
                results = [inner[n] for n in branch['outputs']]
            else:
                results = OPS[node['op']](env, node)
            for name, value in zip(node['outputs'], results):
                env[name] = value
            for n in node_reads(node):
                if last.get(n) == i and n not in keep and n not in self.weights and n not in switches:
                    env.pop(n, None)


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def synced(fn):
    sync()
    start = time.perf_counter()
    out = fn()
    sync()
    return out, time.perf_counter() - start


def gib(device, what):
    """Allocated ('now') or peak bytes on a CUDA device, in GiB; nothing on the CPU."""
    if device != 'cuda':
        return 'n/a (cpu)'
    n = torch.cuda.memory_allocated() if what == 'now' else torch.cuda.max_memory_allocated()
    return f'{n / 2**30:.2f} GiB'


def reset_peak(device):
    if device == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('folder')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cuda', help='cuda (the check), or cpu (a smoke run of a tiny plan)')
    args = parser.parse_args()
    device = args.device
    if device == 'cuda' and not torch.cuda.is_available():
        sys.exit('device_check: torch sees no CUDA device')
    torch.backends.cuda.matmul.allow_tf32 = True
    with open(os.path.join(args.folder, 'plan.json')) as f:
        plan = json.load(f)
    name = torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'
    print(f"device: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    print('NOT onnxruntime: dragflow\'s graphs executed op by op with torch kernels (see the module doc); '
          f"attention: {'F.scaled_dot_product_attention' if FUSED_ATTENTION else 'spelled out (torch < 2.1)'}")
    with open(os.path.join(args.folder, plan['transformer'])) as f:
        graph = json.load(f)
    reset_peak(device)
    edit = Executor(graph, device)
    print(f"transformer weights on the device: {gib(device, 'now')} ({len(edit.weights)} tensors)")

    g = torch.Generator(device=device).manual_seed(2)
    inputs = {i['name']: i for i in graph['inputs']}

    def random(name, scale=1.0, shape=None):
        spec = inputs[name]
        shape = shape or spec['shape']
        return (torch.rand(shape, generator=g, device=device) * 2 - 1).mul(scale).to(DTYPES[spec['dtype']])

    base = {n: random(n) for n in ('img', 'txt', 'y', 'timestep_embedding', 'pe_cos', 'pe_sin')}
    if 'guidance_embedding' in inputs:
        base['guidance_embedding'] = random('guidance_embedding')
    one = lambda name: torch.zeros([1] * len(inputs[name]['shape']), device=device, dtype=DTYPES[inputs[name]['dtype']])
    kv_names = [n for n in inputs if n.startswith('kv_in.')]
    token = {n: torch.zeros(inputs[n]['shape'][:2] + [1] + inputs[n]['shape'][3:], device=device,
                            dtype=torch.float16) for n in kv_names}
    supervision_names = ['warped_features', 'region_masks', 'region_weights']
    no_supervision = {n: one(n) for n in supervision_names}
    switch = lambda v: torch.tensor(v, dtype=torch.bool)

    def call(role, kv=None, supervision=None):
        feeds = dict(base)
        feeds.update(kv if kv is not None else token)
        feeds.update(supervision or no_supervision)
        switches = {'inject_kv': switch(kv is not None).to(device), 'run_velocity': switch(role == 'velocity'),
                    'run_drag_step': switch(role == 'drag_step')}
        return edit.run(feeds, switches)

    out, _ = synced(lambda: call('velocity'))
    kv = {n: out[n.replace('kv_in', 'kv_out')] for n in kv_names}
    features = call('features', kv)['features']
    regions = plan['regions']
    supervision = {
        'warped_features': (features * 0.9).expand([regions] + list(features.shape[1:])).contiguous(),
        'region_masks': torch.ones([regions, 1] + list(features.shape[2:]), device=device),
        'region_weights': torch.full([regions], 1.0 / regions, device=device),
    }
    seconds = {}
    for role, run in [('capture', lambda: call('velocity')), ('inject', lambda: call('velocity', kv)),
                      ('features', lambda: call('features', kv)),
                      ('drag_step', lambda: call('drag_step', kv, supervision))]:
        run()
        times = [synced(run)[1] for _ in range(args.repeats)]
        seconds[role] = sorted(times)[len(times) // 2]
        print(f"{role:10s} {seconds[role]:.3f} s per call (median of {args.repeats})")
    counts = plan['calls']
    runs = {'capture': lambda: call('velocity'), 'features': lambda: call('features', kv),
            'drag_step': lambda: call('drag_step', kv, supervision), 'inject': lambda: call('velocity', kv)}

    def edit_calls():
        # An edit's transformer calls in its order: inversion, F0, drag steps, the map after transport, sampling.
        for _ in range(counts['capture']):
            runs['capture']()
        runs['features']()
        for _ in range(counts['drag_step']):
            runs['drag_step']()
        for _ in range(counts['features'] - 1):
            runs['features']()
        for _ in range(counts['inject']):
            runs['inject']()

    _, total = synced(edit_calls)
    print('edit at {0}x{0}: {1}: {2:.1f} s of transformer calls, run in order'.format(
        plan['size'], ', '.join(f"{counts[r]} {r}" for r in counts), total))
    print(f"peak device memory (torch allocator, weights included): {gib(device, 'peak')}")
    del edit
    for name in ('vae_encoder', 'vae_decoder'):
        with open(os.path.join(args.folder, plan[name])) as f:
            vae = json.load(f)
        reset_peak(device)
        ex = Executor(vae, device)
        spec = vae['inputs'][0]
        x = torch.rand(spec['shape'], generator=g, device=device) * 2 - 1
        ex.run({spec['name']: x}, {})
        _, t = synced(lambda: ex.run({spec['name']: x}, {}))
        print(f"{name}: {t:.3f} s, peak device memory {gib(device, 'peak')}")
        del ex


if __name__ == '__main__':
    with torch.inference_mode():
        main()
