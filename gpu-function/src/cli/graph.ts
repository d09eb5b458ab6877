import { opInference } from '../graph/ops.ts';
import { gradientRules } from '../graph/rules.ts';
import { CliError, type Command, EXIT, EXIT_CODE_TABLE, parseFlags, wantsHelp } from './command.ts';
import { reportFailure } from './failure.ts';

const USAGE = [
  'usage: dragflow graph ops',
  '  lists the ONNX ops the graph builder emits: one per line, Name<TAB>grad|forward-only',
  EXIT_CODE_TABLE,
].join('\n');

/** `dragflow graph ops`: which ops the graph toolkit can build and which it can differentiate. */
export const graph: Command = {
  summary: 'list the graph builder ops and whether each has a gradient rule',
  usage: USAGE,
  async run(args) {
    if (wantsHelp(args)) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    try {
      const { positionals } = parseFlags('graph', args, {}, 1);
      if (positionals[0] !== 'ops') {
        throw new CliError(
          'usage',
          `expected 'ops'${positionals[0] ? `, got '${positionals[0]}'` : ''} (see dragflow graph --help)`,
        );
      }
      const lines = Object.keys(opInference)
        .sort()
        .map((op) => `${op}\t${op in gradientRules ? 'grad' : 'forward-only'}`);
      process.stdout.write(`${lines.join('\n')}\n`);
      return EXIT.ok;
    } catch (error) {
      return reportFailure(error);
    }
  },
};
