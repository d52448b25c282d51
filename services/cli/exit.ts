// A command's end with an exit code of its own (beyond 0 success / 1 error) and the message
// that goes with it on stderr, for scripts that branch on the code.
export class CliExit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}
