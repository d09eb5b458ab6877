/**
 * An edit's metrics as Cog's `metrics` object: flat numbers only (what Cog clients and the shared
 * JobMetrics schema expect). The full metrics (losses per iteration, notes) travel as a JSON output
 * file when the request asks for it (options.output_metrics).
 */
import type { EditMetrics } from '../pipeline/metrics.ts';

export function cogMetrics(m: EditMetrics): Record<string, number> {
  const phases = Object.fromEntries(
    Object.entries(m.phase_seconds).map(([phase, seconds]) => [`${phase}_seconds`, seconds]),
  );
  return {
    edit_seconds: m.total_seconds,
    onnx_seconds: m.onnx_seconds,
    outside_onnx_share: m.outside_onnx_share,
    transformer_calls: m.transformer_calls,
    forward_pass_equivalents: m.forward_pass_equivalents,
    peak_memory_bytes: m.peak_rss_bytes,
    kv_cache_bytes: m.kv_cache_bytes,
    image_width: m.image.width,
    image_height: m.image.height,
    operations: m.operations,
    editable_area_fraction: m.editable_area_fraction,
    ...phases,
  };
}
