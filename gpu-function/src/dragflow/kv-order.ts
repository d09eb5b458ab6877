/**
 * Which captured K/V set a transformer call reuses (method doc, "KV injection"). Inversion
 * captures one set per velocity call, in call order (fireflow.ts VelocityCall.call: 0..N-1).
 * Denoising reuses them in reverse order of capture, call j taking set N-1-j; with FireFlow both
 * directions make steps + 1 calls, so the sets pair one to one. Every optimisation forward pass
 * uses the last set captured, the one nearest the edit timestep.
 */

export function samplingKvSet(samplingCall: number, captured: number): number {
  if (!Number.isInteger(samplingCall) || samplingCall < 0 || samplingCall >= captured) {
    throw new RangeError(`sampling call ${samplingCall} has no K/V set: ${captured} were captured`);
  }
  return captured - 1 - samplingCall;
}

export function optimisationKvSet(captured: number): number {
  if (!Number.isInteger(captured) || captured < 1)
    throw new RangeError(`no K/V set was captured (${captured})`);
  return captured - 1;
}
