import type { Command } from './main.ts';

/** `npm start`: the end-to-end demo edit. It says plainly what is missing until the pipeline lands. */
export const demo: Command = {
  summary: 'run a demo drag edit on the embedded demo bundle',
  async run() {
    process.stderr.write(
      'dragflow demo: the DragFlow pipeline has not landed yet (see the open issues); nothing was edited.\n',
    );
    return 1;
  },
};
