/**
 * Pulls (issue 17): a multi-layer image of random content (tens of MB) from
 * a local `docker-registry` on 127.0.0.1, pulled by corral (downloaded,
 * verified and unpacked), copied by `skopeo copy` to a local directory
 * (downloaded only), and pulled by podman where installed; then corral's
 * and podman's re-pull with every layer present.
 * @module
 */
import { join } from "node:path";
import { hostArchitecture } from "../../lib/image/mod.ts";
import { randomBytes, skopeoPush, startRegistry, writeOciLayout } from "../../tests/registry.ts";
import type { BenchContext, Section, SectionOutput } from "../context.ts";
import { execOk, timed } from "../exec.ts";
import { LATENCY_HEADER, latencyRow } from "../report.ts";
import { fmt, p50p99, ratio, summarize } from "../stats.ts";

/** The image: this many layers of this many bytes each. */
const LAYERS = 5;
const LAYER_BYTES = 8 << 20;
/** Rounds of each figure (the first round of each is a warm-up, not measured). */
const MAX_ROUNDS = 5;

/** One pull through the API, read to the end of its progress stream; an error line throws. */
async function apiPull(ctx: BenchContext, host: string): Promise<void> {
  const res = await ctx.daemon.api.call(
    "POST",
    `/images/create?fromImage=${encodeURIComponent(`${host}/bench/pull`)}&tag=1`,
  );
  const text = await res.text();
  if (text.includes('"error"')) throw new Error(`pull failed: ${text.slice(-300)}`);
}

/** Pull of a multi-layer image: corral beside skopeo copy and podman pull; re-pulls. */
export const pullSection: Section = {
  name: "pull",
  title: "Pull of a multi-layer image from a local registry",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const reg = await startRegistry();
    try {
      return await measure(ctx, reg.host);
    } finally {
      await reg.stop();
    }
  },
};

async function measure(ctx: BenchContext, host: string): Promise<SectionOutput> {
  const d = ctx.daemon;
  const layout = await writeOciLayout(join(ctx.dir, "pull-layout"), [{
    layers: Array.from({ length: LAYERS }, () => randomBytes(LAYER_BYTES)),
    architecture: hostArchitecture(),
  }]);
  const ref = `${host}/bench/pull:1`;
  await skopeoPush(layout.source, ref);
  const rounds = Math.max(2, Math.min(MAX_ROUNDS, ctx.opts.iterations)) + 1;
  const samples = {
    corral: [] as number[],
    corralAgain: [] as number[],
    cliAgain: [] as number[],
    skopeo: [] as number[],
  };
  const podman = { pull: [] as number[], again: [] as number[] };
  const copyDir = join(ctx.dir, "pull-skopeo");
  for (let round = 0; round < rounds; round++) {
    const keep = round > 0;
    const corral = await timed(() => apiPull(ctx, host));
    const again = await timed(() => apiPull(ctx, host));
    const cliAgain = await timed(() => d.ok("pull", ref));
    await d.ok("image", "rm", ref);
    const skopeo = await timed(() =>
      execOk([
        "skopeo",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        `docker://${ref}`,
        `dir:${copyDir}`,
      ])
    );
    await Deno.remove(copyDir, { recursive: true });
    if (keep) {
      samples.corral.push(corral);
      samples.corralAgain.push(again);
      samples.cliAgain.push(cliAgain);
      samples.skopeo.push(skopeo);
    }
    if (ctx.podman) {
      const p = ctx.podman;
      const pull = await timed(() => p.run("pull", "--quiet", "--tls-verify=false", ref));
      const pAgain = await timed(() => p.run("pull", "--quiet", "--tls-verify=false", ref));
      await p.run("rmi", ref);
      if (keep) {
        podman.pull.push(pull);
        podman.again.push(pAgain);
      }
    }
  }
  const s = {
    corral: summarize(samples.corral),
    again: summarize(samples.corralAgain),
    cliAgain: summarize(samples.cliAgain),
    skopeo: summarize(samples.skopeo),
    podman: podman.pull.length ? summarize(podman.pull) : null,
    podmanAgain: podman.again.length ? summarize(podman.again) : null,
  };
  const mb = (LAYERS * LAYER_BYTES / 1e6).toFixed(0);
  const peers = [
    `skopeo copy to a dir ${p50p99(s.skopeo)}`,
    s.podman ? `podman pull ${p50p99(s.podman)}` : "podman not installed",
  ].join("; ");
  return {
    summary: [
      {
        figure:
          `pull of a ${LAYERS}-layer, ${mb} MB image (random content, gzip) from a local registry`,
        corral: p50p99(s.corral),
        peers,
        ratio: s.podman
          ? ratio(s.corral.median, s.podman.median)
          : ratio(s.corral.median, s.skopeo.median),
        goal: s.podman ? "≤ podman pull" : "≤ 2× skopeo copy (which does not unpack)",
        met: s.podman ? s.corral.median <= s.podman.median : s.corral.median <= 2 * s.skopeo.median,
      },
      {
        figure: "re-pull of the same image, every layer present",
        corral: p50p99(s.again),
        peers: s.podmanAgain ? `podman pull ${p50p99(s.podmanAgain)}` : "podman not installed",
        ratio: s.podmanAgain ? ratio(s.again.median, s.podmanAgain.median) : "n/a",
        goal: "≤ 200 ms through the API, no blob fetched",
        met: s.again.median <= 200,
      },
    ],
    tables: [{
      title: `${samples.corral.length} rounds after a warm-up: pull, pull again, remove`,
      header: LATENCY_HEADER,
      rows: [
        latencyRow("corral: POST /images/create (fetch, verify, unpack, store)", s.corral),
        latencyRow("corral: POST /images/create again (all layers present)", s.again),
        latencyRow("corral pull again through the CLI (its start included)", s.cliAgain),
        latencyRow("skopeo copy docker:// → dir: (download and verify only)", s.skopeo),
        ...(s.podman ? [latencyRow("podman pull", s.podman)] : []),
        ...(s.podmanAgain ? [latencyRow("podman pull again", s.podmanAgain)] : []),
      ],
    }],
    notes: [
      `The image is built in the run: ${LAYERS} layers of ${
        fmt(LAYER_BYTES / 2 ** 20, 0)
      } MiB of random bytes (incompressible), an OCI manifest put into a \`docker-registry\` on 127.0.0.1 by skopeo. Every tool reaches it over plain HTTP.`,
      "corral's figures are its API (as the docker CLI and the SDKs pull) to the end of the progress stream, the image store's commit (fsync, rename) included; the CLI row adds the corral CLI's own start. skopeo only downloads and verifies; podman's figures include its CLI's start.",
    ],
  };
}
