// bench/sdk-overhead/variants — the SDK variants the single-app probes (cpu-per-request.mjs,
// loop-stalls.mjs) compare: plain, @lattice/otel-register with its defaults and with traces
// sampled at 10 %, and the same two for a second build (before/after in one run) when given.

/** The environment of the "traces 10 %" variants (metrics still count every request). */
export const SAMPLED_10_PERCENT = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' };

/** [{ id, preload, env }]: plain, lattice, lattice-sampled, and lattice-b / lattice-b-sampled when registerB is set. */
export function sdkVariants(registerA, registerB) {
  return [
    { id: 'plain', preload: undefined, env: {} },
    { id: 'lattice', preload: registerA, env: {} },
    { id: 'lattice-sampled', preload: registerA, env: SAMPLED_10_PERCENT },
    ...(registerB
      ? [
          { id: 'lattice-b', preload: registerB, env: {} },
          { id: 'lattice-b-sampled', preload: registerB, env: SAMPLED_10_PERCENT },
        ]
      : []),
  ];
}
