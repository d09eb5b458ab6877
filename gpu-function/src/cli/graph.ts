import { opInference } from '../graph/ops.ts';
import { gradientRules } from '../graph/rules.ts';
import type { Command } from './main.ts';

const usage =
  'usage: dragflow graph ops\n  lists the ONNX ops the graph builder emits: one per line, Name<TAB>grad|forward-only\n';

/** `dragflow graph ops`: which ops the graph toolkit can build and which it can differentiate. */
export const graph: Command = {
  summary: 'list the graph builder ops and whether each has a gradient rule',
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === '--help' || sub === '-h') {
      process.stdout.write(usage);
      return 0;
    }
    if (sub !== 'ops' || rest.length > 0) {
      process.stderr.write(
        `dragflow graph: expected 'ops'${sub ? `, got '${[sub, ...rest].join(' ')}'` : ''}\n${usage}`,
      );
      return 2;
    }
    const lines = Object.keys(opInference)
      .sort()
      .map((op) => `${op}\t${op in gradientRules ? 'grad' : 'forward-only'}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
