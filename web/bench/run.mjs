// The TensorFlow.js comparison of issue 22, driven in headless Chromium:
//
//   cd web && npm ci && node bench/run.mjs [--rounds 7] [--round-s 1.5] [--json out.json]
//     [--loads 3 (page loads per backend for the first frame; 0: none)]
//     [--pairs cpu/wasm,cpu/cpu,webgpu/webgpu,webgpu/webgl (minimax/tfjs)]
//
// (web/pkg/ built first by ./web/build.sh). It prints `RESULT bench=tfjs_…`
// lines: the wasm bundle's size, the page's first-frame time on each
// backend, and steps per second of GAN Lab's default model in minimax and
// in TensorFlow.js, in alternated rounds on one page per pair of engines
// (web/bench/bench.js says what a round is).

import { readFile, writeFile } from "node:fs/promises";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { serve, launch } from "../tests/browser.mjs";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const ROUNDS = Number(flag("--rounds", 7));
const ROUND_S = Number(flag("--round-s", 1.5));
const KD = Number(flag("--kd", 2));
const JSON_OUT = flag("--json", null);
const LOADS = Number(flag("--loads", 3));

const fmt = (x) => (typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toPrecision(4)) : JSON.stringify(x));
const result = (bench, fields) =>
  console.log(`RESULT bench=${bench} ` + Object.entries(fields).map(([k, v]) => `${k}=${fmt(v)}`).join(" "));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const all = { rounds: ROUNDS, round_s: ROUND_S, k_d: KD };

// ---- The bundle's size ----------------------------------------------------

const wasm = await readFile(join(web, "pkg/minimax_web_bg.wasm"));
const glue = await readFile(join(web, "pkg/minimax_web.js"));
all.bundle = {
  wasm_bytes: wasm.length,
  wasm_gzip9_bytes: gzipSync(wasm, { level: 9 }).length,
  wasm_brotli_bytes: brotliCompressSync(wasm, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  glue_js_bytes: glue.length,
  glue_js_gzip9_bytes: gzipSync(glue, { level: 9 }).length,
};
result("tfjs_bundle", all.bundle);

const server = await serve(web);
const context = await launch();
all.chromium = context.browser()?.version() ?? "unknown";

try {
  // ---- The page's first frame ---------------------------------------------
  // From the navigation's start (node's clock, before goto) to the moment
  // the page says it is ready and holds its first frame from the engine.
  for (const backend of LOADS > 0 ? ["cpu", "webgpu"] : []) {
    const times = [], inPage = [];
    let error = null;
    for (let i = 0; i < LOADS; i++) {
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(`${server.url}index.html?backend=${backend}`);
      await page.waitForFunction(
        () => window.minimax?.error || (window.minimax?.ready === true && window.minimax.frame),
        null,
        { polling: 5, timeout: 180_000 },
      );
      times.push(performance.now() - t0);
      const seen = await page.evaluate(() => ({ error: window.minimax.error, now: performance.now() }));
      inPage.push(seen.now);
      error ??= seen.error;
      await page.close();
    }
    all[`first_frame_${backend}`] = { ms: times, in_page_ms: inPage, error };
    result(`tfjs_first_frame_${backend}`, {
      first_load_ms: times[0],
      median_ms: median(times),
      loads: LOADS,
      ...(error ? { error } : {}),
    });
  }

  // ---- Steps per second, one page per pair ---------------------------------
  const pairs = [
    ["cpu", "wasm"],
    ["cpu", "cpu"],
    ["webgpu", "webgpu"],
    // GAN Lab itself runs tfjs on WebGL: across paths, for reference only.
    ["webgpu", "webgl"],
  ];
  const only = flag("--pairs", null)?.split(",");
  for (const [mm, tf] of pairs.filter(([mm, tf]) => !only || only.includes(`${mm}/${tf}`))) {
    const page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && console.error(`[${mm}/${tf}] ${m.text()}`));
    page.on("pageerror", (e) => console.error(`[${mm}/${tf}] ${e.message}`));
    await page.goto(`${server.url}bench/bench.html?mm=${mm}&tf=${tf}&rounds=${ROUNDS}&round_s=${ROUND_S}&kd=${KD}&kg=1`);
    const r = await page.evaluate(() => window.benchResult);
    await page.close();
    all[`mm_${mm}_vs_tf_${tf}`] = r;
    const bench = `tfjs_steps_mm_${mm}_vs_tf_${tf}`;
    if (r.error || r.mm_error || r.tf_error) {
      result(bench, { error: r.error ?? r.mm_error ?? r.tf_error, who: r.error ? "page" : r.mm_error ? "minimax" : "tfjs" });
      continue;
    }
    for (const [i, row] of r.rounds_detail.entries()) {
      result(`${bench}_round`, { round: i + 1, first: row.first, mm_sps: row.mm_sps, tf_sps: row.tf_sps, ratio: row.ratio });
    }
    result(bench, {
      steps_per_round: r.steps_per_round,
      k_d: r.k_d,
      k_g: r.k_g,
      mm_sps_median: r.mm_sps_median,
      tf_sps_median: r.tf_sps_median,
      ratio_median: r.ratio_median,
      ratio_min: r.ratio_min,
      ratio_max: r.ratio_max,
      mm_queue_share: r.mm_queue_share,
      tf_queue_share: r.tf_queue_share,
      mm_frame_ms: r.mm_frame_ms,
      ratio_median_less_frame: r.ratio_median_less_frame,
      tf_tensors_leaked: r.tf_tensors_leaked,
    });
    console.log(`# ${bench}: ${r.mm_name} vs ${r.tf_name}; preset k ${JSON.stringify(r.mm_preset_k)}; ` +
      `losses minimax ${JSON.stringify(r.mm_losses)} tfjs ${JSON.stringify(r.tf_losses)}` +
      (r.tf_wasm_features ? `; tfjs wasm ${JSON.stringify(r.tf_wasm_features)}` : ""));
  }
  console.log(`# ${all.chromium}`);
} finally {
  await context.close();
  server.close();
}

if (JSON_OUT) await writeFile(JSON_OUT, JSON.stringify(all, null, 2) + "\n");
