/**
 * Which captured K/V set a transformer call reuses (method doc, "KV injection"; the pairings are
 * defined in shared presets.ts KV_PAIRINGS). Inversion captures one set per velocity call, in call
 * order (fireflow.ts VelocityCall.call: 0..N for N steps); sampling makes the same N + 1 calls per
 * branch, downwards. Every optimisation forward pass uses the last set captured, the one nearest the
 * edit timestep.
 */
import type { KV_PAIRINGS } from '@dragflow/shared/presets';

export type KvPairing = (typeof KV_PAIRINGS)[number];

export function samplingKvSet(samplingCall: number, captured: number, pairing: KvPairing): number {
  if (!Number.isInteger(samplingCall) || samplingCall < 0 || samplingCall >= captured) {
    throw new RangeError(`sampling call ${samplingCall} has no K/V set: ${captured} were captured`);
  }
  const last = captured - 1;
  if (samplingCall === 0 || pairing === 'reference_code') return last - samplingCall;
  return last - samplingCall + 1;
}

export function optimisationKvSet(captured: number): number {
  if (!Number.isInteger(captured) || captured < 1)
    throw new RangeError(`no K/V set was captured (${captured})`);
  return captured - 1;
}
