"""
CPU self-test of device_check.py's interpreter: runs the tiny edit graph that `npm run
device:check -- --self-test` wrote (graph.json, params.bin, one feeds/expected pair per role, all
float32 from onnxruntime) with the same Executor the GPU check uses, and compares every output.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from device_check import DTYPES, Executor  # noqa: E402


def load(folder, name):
    with open(os.path.join(folder, f'{name}.json')) as f:
        index = json.load(f)
    with open(os.path.join(folder, f'{name}.bin'), 'rb') as f:
        raw = f.read()
    out = {}
    for key, (offset, length, dtype, shape) in index.items():
        chunk = bytearray(raw[offset:offset + length])
        t = torch.frombuffer(chunk, dtype=DTYPES[dtype]) if chunk else torch.empty(0, dtype=DTYPES[dtype])
        out[key] = t.reshape(shape)
    return out


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, 'graph.json')) as f:
        graph = json.load(f)
    with open(os.path.join(folder, 'roles.json')) as f:
        roles = json.load(f)
    executor = Executor(graph, 'cpu', params=load(folder, 'params'))
    worst = 0.0
    for role in roles:
        feeds = load(folder, f'feeds.{role}')
        switches = {n: feeds.pop(n).bool().reshape([]) for n in ('run_velocity', 'run_drag_step', 'inject_kv')}
        expected = load(folder, f'expected.{role}')
        got = executor.run(feeds, switches)
        for name, want in expected.items():
            have = got[name].float()
            if list(have.shape) != list(want.shape):
                sys.exit(f'self-test {role}: {name} has shape {list(have.shape)}, onnxruntime gave {list(want.shape)}')
            scale = max(want.abs().max().item(), 1e-12)
            error = (have - want).abs().max().item() / scale
            worst = max(worst, error)
            print(f'{role:10s} {name:24s} max relative difference {error:.2e}')
    print(f'self-test: worst relative difference to onnxruntime {worst:.2e}')
    if worst > 1e-4:
        sys.exit(1)


if __name__ == '__main__':
    with torch.inference_mode():
        main()
