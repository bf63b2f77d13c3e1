// The side-by-side comparison of issue 22: the same 2-D GAN, GAN Lab's
// default model, trained in minimax (crates/web, compiled to WebAssembly,
// on its CPU backend or on WebGPU with the repository's WGSL kernels) and
// in TensorFlow.js (GAN Lab's engine, written as GAN Lab writes it), in
// alternated rounds on one page. web/bench/run.mjs loads this page once
// per pair of engines and reads `window.benchResult`.
//
// GAN Lab's default model (poloclub/ganlab, demo/ganlab.ts, ganlab.html,
// ganlab_models.ts): 2-D uniform noise on [0, 1), G 2 → 8 → 8 → 2 with
// ReLU and a tanh output, D 2 → 8 → 8 → 1 with ReLU and a sigmoid, batch
// 150, the log loss (non-saturating for G), SGD at 0.1 for both players,
// and k_D = 2 D-updates and k_G = 1 G-update per iteration (the HTML's
// `<span id="k-d-steps">2</span>` and `<span id="k-g-steps">1</span>`).
//
// A round is N steps of one engine, then one read back from it, all inside
// the timed region, so the work is finished when the clock stops:
//  - minimax: `lab.train(N)` (on WebGPU queued, nothing read back), then
//    `await lab.frame()`, the page's own readback (it also computes the
//    frame: D's surface, G's manifold, 2,500 fakes for the divergences; its
//    cost alone is measured too and reported as `mm_frame_ms`);
//  - TensorFlow.js: N iterations of GAN Lab's loop, then `await data()` of
//    the last G loss and of G's last bias (which G's last update wrote).
// The engines alternate, and which goes first alternates round by round.

import init, { openBackend, defaultConfig, Lab } from "../pkg/minimax_web.js";

const tf = globalThis.tf;
const params = new URLSearchParams(location.search);
const MM = params.get("mm") ?? "cpu"; // minimax's backend: cpu or webgpu
const TF = params.get("tf") ?? "wasm"; // tfjs's backend: wasm, cpu or webgpu
const ROUNDS = Number(params.get("rounds") ?? 7);
const KD = Number(params.get("kd") ?? 2);
const KG = Number(params.get("kg") ?? 1);
// Seconds the slower engine should take per timed round (sets N).
const ROUND_S = Number(params.get("round_s") ?? 1.5);

// GAN Lab's constants (demo/ganlab.ts).
const BATCH_SIZE = 150;
const ATLAS_SIZE = 12000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---- minimax: the page's own API, on GAN Lab's preset with GAN Lab's k. --

async function minimax(kind) {
  await init();
  const backend = await openBackend(kind);
  const config = JSON.parse(defaultConfig("2d")); // the `ganlab` preset
  const preset = { d_steps: config.d_steps, g_steps: config.g_steps };
  config.d_steps = KD;
  config.g_steps = KG;
  const lab = new Lab(backend, "2d", JSON.stringify(config));
  let last = null;
  return {
    name: `minimax ${backend.name()}`,
    preset,
    config,
    // N steps, then the end-of-round readback; `queue_ms` is how long
    // train(N) itself took (on WebGPU: recording and submitting).
    async round(n) {
      const t0 = performance.now();
      lab.train(n);
      const t1 = performance.now();
      last = JSON.parse(await lab.frame());
      const t2 = performance.now();
      return { ms: t2 - t0, queue_ms: t1 - t0 };
    },
    // A frame alone, nothing queued before it: what the readback adds.
    async frameOnly() {
      await lab.frame();
      const t0 = performance.now();
      last = JSON.parse(await lab.frame());
      return performance.now() - t0;
    },
    losses: () => ({ d: last?.d_loss, g: last?.g_loss, step: last?.step }),
  };
}

// ---- TensorFlow.js: GAN Lab's model and loop (ganlab_models.ts, ganlab.ts)

async function tensorflow(kind) {
  if (kind === "wasm") {
    tf.wasm.setWasmPaths(new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", location.href).href);
  }
  if (!(await tf.setBackend(kind))) throw new Error(`tf.setBackend(${JSON.stringify(kind)}) returned false`);
  await tf.ready();
  if (tf.getBackend() !== kind) throw new Error(`tfjs runs ${tf.getBackend()}, not ${kind}`);

  // GANLabModel.initializeModelVariables, for 1 hidden layer of 8 each.
  const noiseSize = 2, layers = 1, gN = 8, dN = 8;
  const gVariables = [], dVariables = [];
  gVariables.push(tf.variable(tf.randomNormal([noiseSize, gN], 0, 1.0 / Math.sqrt(2))));
  gVariables.push(tf.variable(tf.zeros([gN])));
  for (let i = 0; i < layers; ++i) {
    gVariables.push(tf.variable(tf.randomNormal([gN, gN], 0, 1.0 / Math.sqrt(gN))));
    gVariables.push(tf.variable(tf.zeros([gN])));
  }
  gVariables.push(tf.variable(tf.randomNormal([gN, 2], 0, 1.0 / Math.sqrt(gN))));
  gVariables.push(tf.variable(tf.zeros([2])));
  dVariables.push(tf.variable(tf.randomNormal([2, dN], 0, 1.0 / Math.sqrt(2)), true));
  dVariables.push(tf.variable(tf.zeros([dN])));
  for (let i = 0; i < layers; ++i) {
    dVariables.push(tf.variable(tf.randomNormal([dN, dN], 0, 1.0 / Math.sqrt(dN))));
    dVariables.push(tf.variable(tf.zeros([dN])));
  }
  dVariables.push(tf.variable(tf.randomNormal([dN, 1], 0, 1.0 / Math.sqrt(dN))));
  dVariables.push(tf.variable(tf.zeros([1])));

  const generator = (noise) => {
    let net = noise.matMul(gVariables[0]).add(gVariables[1]).relu();
    for (let i = 0; i < layers; ++i) net = net.matMul(gVariables[2 + i * 2]).add(gVariables[3 + i * 2]).relu();
    return net.matMul(gVariables[2 + layers * 2]).add(gVariables[3 + layers * 2]).tanh();
  };
  const discriminator = (x) => {
    let net = x.matMul(dVariables[0]).add(dVariables[1]).relu();
    for (let i = 0; i < layers; ++i) net = net.matMul(dVariables[2 + i * 2]).add(dVariables[3 + i * 2]).relu();
    return net.matMul(dVariables[2 + layers * 2]).add(dVariables[3 + layers * 2]).sigmoid().reshape([BATCH_SIZE]);
  };
  // Log loss, as GAN Lab writes it (its 0.95 weighs D's real term).
  const dLoss = (truePred, generatedPred) =>
    tf.add(truePred.log().mul(tf.scalar(0.95)).mean(), tf.sub(tf.scalar(1), generatedPred).log().mean()).mul(tf.scalar(-1));
  const gLoss = (generatedPred) => generatedPred.log().mean().mul(tf.scalar(-1));
  const dOptimizer = tf.train.sgd(0.1);
  const gOptimizer = tf.train.sgd(0.1);

  // GAN Lab's input providers: atlases of 12,000, sliced a batch at a time.
  // Its true samples are drawn on the host; the two Gaussians here
  // (ganlab_input_providers.ts, 'gaussians').
  const noiseAtlas = tf.randomUniform([ATLAS_SIZE, noiseSize], 0.0, 1.0);
  const randNormal = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  const trueList = [];
  for (let i = 0; i < ATLAS_SIZE; ++i) {
    if (Math.random() < 0.5) trueList.push(0.3 + 0.1 * randNormal(), 0.7 + 0.1 * randNormal());
    else trueList.push(0.7 + 0.05 * randNormal(), 0.4 + 0.2 * randNormal());
  }
  const trueAtlas = tf.tensor2d(trueList, [ATLAS_SIZE, 2]);
  let noiseCounter = -1, trueCounter = -1;
  const nextNoise = () => noiseAtlas.slice([(++noiseCounter * BATCH_SIZE) % ATLAS_SIZE, 0], [BATCH_SIZE, noiseSize]);
  const nextTrue = () => trueAtlas.slice([(++trueCounter * BATCH_SIZE) % ATLAS_SIZE, 0], [BATCH_SIZE, 2]);

  // The two losses of the last iteration, kept out of the tidies.
  let lastD = null, lastG = null;
  // One iteration of ganlab.ts's iterateTraining, without the drawing.
  const iterate = () => {
    lastD?.dispose();
    lastG?.dispose();
    lastD = tf.tidy(() => {
      let cost = null;
      for (let j = 0; j < KD; j++) {
        cost = dOptimizer.minimize(() => {
          const noiseBatch = nextNoise();
          const trueSampleBatch = nextTrue();
          const truePred = discriminator(trueSampleBatch);
          const generatedPred = discriminator(generator(noiseBatch));
          return dLoss(truePred, generatedPred);
        }, true, dVariables);
      }
      return cost;
    });
    lastG = tf.tidy(() => {
      let cost = null;
      for (let j = 0; j < KG; j++) {
        cost = gOptimizer.minimize(() => {
          const noiseBatch = nextNoise();
          const pred = discriminator(generator(noiseBatch));
          return gLoss(pred);
        }, true, gVariables);
      }
      return cost;
    });
  };
  const gLastBias = gVariables[gVariables.length - 1];
  let lossValues = {};
  return {
    name: `tfjs ${tf.version.tfjs} ${tf.getBackend()}`,
    async round(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) iterate();
      const t1 = performance.now();
      const [g] = await Promise.all([lastG.data(), gLastBias.data()]);
      const t2 = performance.now();
      lossValues = { d: (await lastD.data())[0], g: g[0] };
      return { ms: t2 - t0, queue_ms: t1 - t0 };
    },
    losses: () => lossValues,
    tensors: () => tf.memory().numTensors,
  };
}

// ---- The rounds ----------------------------------------------------------

async function bench() {
  const result = { mm_backend: MM, tf_backend: TF, rounds: ROUNDS, k_d: KD, k_g: KG, batch: BATCH_SIZE };
  result.user_agent = navigator.userAgent;
  result.cross_origin_isolated = globalThis.crossOriginIsolated ?? false;
  let mm, tfe;
  try {
    mm = await minimax(MM);
    result.mm_name = mm.name;
    result.mm_preset_k = mm.preset;
  } catch (e) {
    result.mm_error = String(e.message ?? e);
  }
  try {
    tfe = await tensorflow(TF);
    result.tf_name = tfe.name;
    if (TF === "wasm") {
      result.tf_wasm_features = {
        simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
        threads: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"),
      };
    }
  } catch (e) {
    result.tf_error = String(e.message ?? e);
  }
  if (!mm || !tfe) return result;

  // Warm up: the first rounds compile shaders and pipelines, and grow
  // buffers. Then N from the warm rate of the slower engine.
  // (The machine is shared: a round's time is its fastest warm one's.)
  const WARM = MM === "cpu" ? 20 : 5;
  const warm = [];
  for (let i = 0; i < 3; i++) {
    warm.push({ mm: (await mm.round(WARM)).ms, tf: (await tfe.round(WARM)).ms });
  }
  result.warmup_steps = WARM;
  result.warmup_ms = warm;
  const fastest = (who) => Math.min(...warm.slice(1).map((w) => w[who])) / WARM; // ms per step
  const n = Math.max(20, Math.round((ROUND_S * 1000) / Math.max(fastest("mm"), fastest("tf"))));
  result.steps_per_round = n;
  await mm.round(n);
  await tfe.round(n);
  const tensorsBefore = tfe.tensors();

  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ["mm", "tf"] : ["tf", "mm"];
    const row = { first: order[0] };
    for (const who of order) {
      const t = await (who === "mm" ? mm : tfe).round(n);
      row[`${who}_sps`] = (n * 1000) / t.ms;
      row[`${who}_queue_ms`] = t.queue_ms;
      row[`${who}_ms`] = t.ms;
    }
    row.ratio = row.mm_sps / row.tf_sps; // > 1: minimax ahead
    rows.push(row);
  }
  result.rounds_detail = rows;
  result.mm_sps_median = median(rows.map((r) => r.mm_sps));
  result.tf_sps_median = median(rows.map((r) => r.tf_sps));
  result.ratio_median = median(rows.map((r) => r.ratio));
  result.ratio_min = Math.min(...rows.map((r) => r.ratio));
  result.ratio_max = Math.max(...rows.map((r) => r.ratio));
  result.mm_queue_share = median(rows.map((r) => r.mm_queue_ms / r.mm_ms));
  result.tf_queue_share = median(rows.map((r) => r.tf_queue_ms / r.tf_ms));
  const frames = [];
  for (let i = 0; i < 5; i++) frames.push(await mm.frameOnly());
  result.mm_frame_ms = median(frames);
  // minimax's rate with its frame's own cost taken out of each round (the
  // frame does far more than tfjs's two small reads): a second figure,
  // never the headline.
  result.mm_sps_median_less_frame = median(rows.map((r) => (n * 1000) / Math.max(1e-9, r.mm_ms - result.mm_frame_ms)));
  result.ratio_median_less_frame = median(
    rows.map((r) => (n * 1000) / Math.max(1e-9, r.mm_ms - result.mm_frame_ms) / r.tf_sps),
  );
  result.tf_tensors_leaked = tfe.tensors() - tensorsBefore;
  result.mm_losses = mm.losses();
  result.tf_losses = tfe.losses();
  return result;
}

window.benchResult = bench().catch((e) => ({ error: String(e.stack ?? e) }));
window.benchResult.then((r) => (document.getElementById("out").textContent = JSON.stringify(r, null, 2)));
