// minimax · GAN lab: the page's JavaScript. It only draws: every number
// comes from the engine (crates/web, compiled to WebAssembly), which
// trains on WebGPU with the repository's WGSL kernels, or on the CPU
// backend in WASM where the browser has no WebGPU.
//
// The loop: on each animation frame, train a few steps (queued on the GPU,
// nothing read back), then ask the engine for a frame and await it (a
// WebGPU readback completes only when this script yields to the browser),
// then draw. The tab never blocks for longer than one small chunk.

import init, { openBackend, defaultConfig, targetJson, Lab } from "./pkg/minimax_web.js";

const $ = (id) => document.getElementById(id);

// Everything the page knows; tests read it as `window.minimax`.
const state = {
  view: "2d", backend: null, lab: null, playing: false, busy: false,
  frame: null, history: [], drawn: [], error: null,
  stepsPerSecond: 0, stepsThisSecond: 0, secondStarted: performance.now(),
  slowPhase: 0, slowAt: 0, frames: 0,
};
window.minimax = state;

const LOSSES = ["minimax", "non-saturating", "least-squares", "wasserstein"];
// GAN Lab's learning-rate choices; the field also takes any number typed.
const RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0];

// ---- Messages: a bad setting or a NaN stops training, visibly. ----------

function showError(message) {
  state.error = String(message);
  state.playing = false;
  $("play").textContent = "▶ play";
  $("message").textContent = state.error;
  $("message").hidden = false;
}

function clearError() {
  state.error = null;
  $("message").hidden = true;
}

// ---- The backend: WebGPU when the browser gives an adapter, else CPU. ---

async function chooseBackend() {
  const asked = new URLSearchParams(location.search).get("backend") || $("backend-choice").value;
  $("backend-choice").value = asked;
  if (asked === "webgpu" || (asked === "auto" && navigator.gpu)) {
    try {
      state.backend = await openBackend("webgpu");
    } catch (e) {
      if (asked === "webgpu") throw e; // asked for WebGPU: its absence is an error
      state.backend = await openBackend("cpu");
    }
  } else {
    state.backend = await openBackend("cpu");
  }
  $("backend-name").textContent = state.backend.name();
}

// ---- Configs: the engine's own JSON, edited from the controls. ----------

function numberOf(id) {
  return Number($(id).value);
}

function hidden(layers, neurons) {
  return Array.from({ length: layers }, () => neurons);
}

function optimizer(kind, lr) {
  return kind === "adam"
    ? { kind: "adam", lr, beta1: 0.5, beta2: 0.999, eps: 1e-8, weight_decay: 0, decoupled: false }
    : { kind: "sgd", lr, momentum: 0, nesterov: false, weight_decay: 0 };
}

// The base model for a data set: GAN Lab's for its sets, the `2d` preset
// (chosen by measurement on the ring) for the ring and the grid.
function baseConfig(data) {
  return JSON.parse(defaultConfig(data === "ring" || data === "grid" ? "ring" : "2d"));
}

// Puts a base config's model into the controls (when the data set changes).
function loadControls(c) {
  $("g-layers").value = c.generator.hidden.length;
  $("g-neurons").value = c.generator.hidden[0] ?? 8;
  $("d-layers").value = c.discriminator.hidden.length;
  $("d-neurons").value = c.discriminator.hidden[0] ?? 8;
  $("g-opt").value = c.g_optimizer.kind;
  $("d-opt").value = c.d_optimizer.kind;
  $("g-lr").value = c.g_optimizer.lr;
  $("d-lr").value = c.d_optimizer.lr;
  $("g-steps").value = c.g_steps;
  $("d-steps").value = c.d_steps;
  $("batch").value = c.batch;
  const latent = c.generator.latent === "gaussian" ? "g" : "u";
  $("noise").value = c.generator.latent_dim <= 2 ? `${c.generator.latent_dim}${latent}` : "8g";
}

function config2d() {
  const data = $("d2-data").value;
  const c = baseConfig(data);
  c.target = JSON.parse(targetJson(data, data === "drawn" ? JSON.stringify(state.drawn) : undefined));
  c.seed = numberOf("seed");
  c.generator.hidden = hidden(numberOf("g-layers"), numberOf("g-neurons"));
  c.discriminator.hidden = hidden(numberOf("d-layers"), numberOf("d-neurons"));
  const noise = $("noise").value; // "2u", "1g", "8g", …
  c.generator.latent_dim = Number(noise.slice(0, -1));
  c.generator.latent = noise.endsWith("u") ? { uniform: { lo: 0, hi: 1 } } : "gaussian";
  c.g_optimizer = optimizer($("g-opt").value, numberOf("g-lr"));
  c.d_optimizer = optimizer($("d-opt").value, numberOf("d-lr"));
  c.g_steps = numberOf("g-steps");
  c.d_steps = numberOf("d-steps");
  c.batch = numberOf("batch");
  c.loss = $("d2-loss").value;
  c.clip = numberOf("clip");
  c.real_label = $("smoothing").checked ? 0.9 : 1.0;
  c.label_noise = Number($("label-noise").value);
  c.discriminator.dropout = Number($("dropout").value);
  return c;
}

function config1d() {
  const c = JSON.parse(defaultConfig("1d"));
  c.target = { kind: "gaussian", mean: numberOf("d1-mean"), std: numberOf("d1-std") };
  c.loss = $("d1-loss").value;
  c.d_steps = numberOf("d1-k");
  c.g_optimizer.lr = numberOf("d1-g-lr");
  c.d_optimizer.lr = numberOf("d1-d-lr");
  return c;
}

function configDigits() {
  return JSON.parse(defaultConfig($("conditional").checked ? "digits-conditional" : "digits"));
}

// ---- Reset, step, play. ---------------------------------------------------

async function reset() {
  clearError();
  state.playing = false;
  $("play").textContent = "▶ play";
  state.history = [];
  state.frame = null;
  try {
    if (state.lab) state.lab.free();
    state.lab = null;
    const config = { "1d": config1d, "2d": config2d, digits: configDigits }[state.view]();
    state.lab = new Lab(state.backend, state.view, JSON.stringify(config));
    await refresh();
  } catch (e) {
    showError(e.message ?? e);
  }
}

// Asks the engine for a frame, awaits it, draws it.
async function refresh() {
  const digit = $("digit").value === "" ? undefined : Number($("digit").value);
  const lab = state.lab;
  const frame = JSON.parse(await lab.frame(state.view === "digits" ? digit : undefined));
  // On WebGPU the read takes a while: a reset (a new view, new settings)
  // may have replaced the lab meanwhile. Its frame belongs to no view now.
  if (lab !== state.lab) return;
  state.frame = frame;
  state.frames += 1;
  remember(frame);
  draw(frame);
  $("step").textContent = frame.step;
  if (frame.diverged) showError(frame.diverged);
}

function remember(f) {
  const h = state.history;
  if (h.length && h[h.length - 1].step === f.step) return;
  h.push({ step: f.step, d_loss: f.d_loss, g_loss: f.g_loss, kl: f.kl, js: f.js, value: f.value });
  if (h.length > 400) h.splice(0, h.length - 400);
}

// Runs `work` (which trains) and then a frame, unless busy or stopped.
async function act(work, steps) {
  if (state.busy || !state.lab) return;
  state.busy = true;
  try {
    work();
    countSteps(steps);
    await refresh();
  } catch (e) {
    showError(e.message ?? e);
  } finally {
    state.busy = false;
  }
}

function countSteps(n) {
  state.stepsThisSecond += n;
  const now = performance.now();
  if (now - state.secondStarted >= 1000) {
    state.stepsPerSecond = (state.stepsThisSecond * 1000) / (now - state.secondStarted);
    $("steps-per-second").textContent = `${state.stepsPerSecond.toFixed(0)} steps/s`;
    state.stepsThisSecond = 0;
    state.secondStarted = now;
  }
}

// Slow mode walks through Algorithm 1's two phases, one every 1.25 s.
const PHASES = [
  ["D's update", "D sees a batch of real samples (green) and of G's samples (purple) and moves its surface: up where the data is, down where G's samples are.", (lab) => lab.stepD()],
  ["G's update", "G moves its samples along the arrows: the gradient of G's loss, which reaches G through D. They climb D's surface toward where D says \"real\".", (lab) => lab.stepG()],
];

function tick() {
  if (state.playing && !state.busy && !state.error) {
    if ($("slow").checked && state.view === "2d") {
      const now = performance.now();
      if (now - state.slowAt > 1250) {
        state.slowAt = now;
        const [name, text, work] = PHASES[state.slowPhase];
        state.slowPhase = (state.slowPhase + 1) % PHASES.length;
        $("explain").hidden = false;
        $("explain").innerHTML = `<b>${name}.</b> ${text}`;
        act(() => work(state.lab), 1);
      }
    } else {
      $("explain").hidden = true;
      const n = numberOf("speed");
      act(() => state.lab.train(n), n);
    }
  }
  requestAnimationFrame(tick);
}

// ---- Drawing. -------------------------------------------------------------

function draw(f) {
  if (state.view === "2d") draw2d(f);
  else if (state.view === "1d") draw1d(f);
  else drawDigits(f);
}

function plane(canvas, [lo, hi]) {
  const ctx = canvas.getContext("2d");
  const s = canvas.width / (hi - lo);
  return { ctx, x: (v) => (v - lo) * s, y: (v) => canvas.height - (v - lo) * s, s };
}

// D's surface: green where D says real, purple where it says fake.
function heat(ctx, values, cells, size) {
  const w = size / cells;
  for (let k = 0; k < cells * cells; k++) {
    const v = values[k];
    const row = Math.floor(k / cells), col = k % cells;
    if (v === null || v === undefined) {
      ctx.fillStyle = "#eee";
    } else {
      const a = Math.min(1, Math.abs(v - 0.5) * 2) * 0.6;
      ctx.fillStyle = v >= 0.5 ? `rgba(46,125,50,${a})` : `rgba(106,27,154,${a})`;
    }
    ctx.fillRect(col * w, size - (row + 1) * w, w + 0.5, w + 0.5);
  }
}

function dots(p, points, color, r) {
  p.ctx.fillStyle = color;
  for (let i = 0; i + 1 < points.length; i += 2) {
    p.ctx.beginPath();
    p.ctx.arc(p.x(points[i]), p.y(points[i + 1]), r, 0, 2 * Math.PI);
    p.ctx.fill();
  }
}

function draw2d(f) {
  const canvas = $("d2-plot");
  const p = plane(canvas, f.window);
  const { ctx } = p;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if ($("show-surface").checked) heat(ctx, f.d_surface, f.cells, canvas.width);
  if ($("show-manifold").checked && f.manifold) {
    const [dim, m] = f.manifold;
    const side = dim === 1 ? m.length / 2 : Math.round(Math.sqrt(m.length / 2));
    ctx.strokeStyle = "rgba(106,27,154,0.35)";
    ctx.lineWidth = 1;
    const at = (i, j) => [m[2 * (j * side + i)], m[2 * (j * side + i) + 1]];
    const line = (pts) => {
      ctx.beginPath();
      pts.forEach(([x, y], k) => (k ? ctx.lineTo(p.x(x), p.y(y)) : ctx.moveTo(p.x(x), p.y(y))));
      ctx.stroke();
    };
    if (dim === 1) line(Array.from({ length: side }, (_, i) => [m[2 * i], m[2 * i + 1]]));
    else for (let j = 0; j < side; j++) {
      line(Array.from({ length: side }, (_, i) => at(i, j)));
      line(Array.from({ length: side }, (_, i) => at(j, i)));
    }
  }
  if ($("show-real").checked) dots(p, f.real, "#2e7d32", 2);
  if ($("show-fake").checked) dots(p, f.fake, "#6a1b9a", 2);
  if ($("show-arrows").checked) {
    // Each arrow is -∂L_G/∂x, scaled so the longest is 6% of the window.
    let longest = 1e-12;
    for (let i = 0; i < f.arrows.length; i += 2) longest = Math.max(longest, Math.hypot(f.arrows[i], f.arrows[i + 1]));
    const scale = (0.06 * (f.window[1] - f.window[0])) / longest;
    ctx.strokeStyle = "rgba(0,0,0,0.45)";
    for (let i = 0; i < f.arrows.length; i += 2) {
      const [x, y] = [f.fake[i], f.fake[i + 1]];
      ctx.beginPath();
      ctx.moveTo(p.x(x), p.y(y));
      ctx.lineTo(p.x(x + scale * f.arrows[i]), p.y(y + scale * f.arrows[i + 1]));
      ctx.stroke();
    }
  }
  if ($("d2-data").value === "drawn") dots(p, state.drawn.flat(), "#ef6c00", 1.5);
  const star = $("d2-star");
  const sctx = star.getContext("2d");
  sctx.clearRect(0, 0, star.width, star.height);
  heat(sctx, f.d_star, f.cells, star.width);
  chart($("d2-losses"), [["d_loss", "#1565c0"], ["g_loss", "#ef6c00"]]);
  chart($("d2-div"), [["kl", "#6a1b9a"], ["js", "#c62828"]]);
  // Coverage comes for the ring and the grid only (see crates/web's lab2d.rs).
  const c = f.coverage;
  $("coverage").textContent = c ? `${c.modes_covered}/${c.modes_total}` : "–";
  $("hq").textContent = c ? `${(100 * c.high_quality_fraction).toFixed(0)}%` : "–";
  // A diverged G's samples are NaN, dropped from the grid: KL and JS of
  // no samples at all would be numbers that mean nothing.
  $("kl").textContent = f.diverged ? "–" : f.kl.toFixed(3);
  $("js").textContent = f.diverged ? "–" : f.js.toFixed(3);
}

// A line chart of `state.history`'s series, with a dashed reference line.
function chart(canvas, series, reference) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const h = state.history;
  const vals = h.flatMap((r) => series.map(([k]) => r[k])).filter((v) => Number.isFinite(v));
  if (reference !== undefined) vals.push(reference);
  if (h.length < 2 || !vals.length) return;
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const x = (i) => (i / (h.length - 1)) * (canvas.width - 10) + 5;
  const y = (v) => canvas.height - 5 - ((v - lo) / (hi - lo)) * (canvas.height - 10);
  if (reference !== undefined) {
    ctx.setLineDash([4, 4]);
    ctx.strokeStyle = "#888";
    ctx.beginPath(); ctx.moveTo(0, y(reference)); ctx.lineTo(canvas.width, y(reference)); ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const [k, color] of series) {
    ctx.strokeStyle = color;
    ctx.beginPath();
    h.forEach((r, i) => (Number.isFinite(r[k]) ? (i ? ctx.lineTo(x(i), y(r[k])) : ctx.moveTo(x(i), y(r[k]))) : null));
    ctx.stroke();
  }
  ctx.fillStyle = "#555";
  ctx.fillText(hi.toPrecision(3), 4, 12);
  ctx.fillText(lo.toPrecision(3), 4, canvas.height - 8);
}

function draw1d(f) {
  const canvas = $("d1-plot");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const [x0, x1] = [f.xs[0], f.xs[f.xs.length - 1]];
  const top = Math.max(...f.p_data, ...f.p_g) * 1.1;
  const x = (v) => ((v - x0) / (x1 - x0)) * (canvas.width - 20) + 10;
  const y = (v, scale) => canvas.height - 10 - (v / scale) * (canvas.height - 20);
  const curve = (ys, color, scale, dash) => {
    ctx.strokeStyle = color;
    ctx.setLineDash(dash ? [5, 4] : []);
    ctx.beginPath();
    ys.forEach((v, i) => (i ? ctx.lineTo(x(f.xs[i]), y(v, scale)) : ctx.moveTo(x(f.xs[i]), y(v, scale))));
    ctx.stroke();
    ctx.setLineDash([]);
  };
  curve(f.p_data, "#000", top, true);
  curve(f.p_g, "#2e7d32", top);
  if (f.d_of_x) curve(f.d_of_x, "#1565c0", 1.0, true); // D(x) on [0, 1]
  chart($("d1-value"), [["value", "#000"], ["js", "#c62828"]], f.value_at_end);
  $("d1-numbers").textContent =
    `V(G, D) = ${f.value.toFixed(4)} (−log 4 = ${f.value_at_end.toFixed(4)}) · JS = ${f.js.toFixed(4)} nats · ` +
    `G: mean ${f.g_mean_std[0].toFixed(3)}, std ${f.g_mean_std[1].toFixed(3)} · data: ${f.data_mean_std[0].toFixed(3)}, ${f.data_mean_std[1].toFixed(3)}`;
}

function drawDigits(f) {
  const canvas = $("digits-grid");
  const ctx = canvas.getContext("2d");
  const n = Math.round(Math.sqrt(f.images.length / (f.side * f.side)));
  // Each image in a cell with a dark gap around it: digits are tall, and
  // without the gap a grid of them reads as vertical stripes.
  const cell = canvas.width / n, px = Math.floor((cell - 4) / f.side), pad = (cell - px * f.side) / 2;
  const img = ctx.createImageData(canvas.width, canvas.height);
  img.data.fill(255);
  for (let o = 0; o < img.data.length; o += 4) img.data[o] = img.data[o + 1] = img.data[o + 2] = 40;
  for (let k = 0; k < n * n; k++) {
    for (let r = 0; r < f.side; r++) for (let c = 0; c < f.side; c++) {
      const v = f.images[k * f.side * f.side + r * f.side + c];
      const g = Math.round(((v + 1) / 2) * 255); // -1 is the black background
      const x0 = Math.floor((k % n) * cell + pad + c * px), y0 = Math.floor(Math.floor(k / n) * cell + pad + r * px);
      for (let yy = y0; yy < y0 + px; yy++) for (let xx = x0; xx < x0 + px; xx++) {
        const o = 4 * (Math.floor(yy) * canvas.width + Math.floor(xx));
        img.data[o] = img.data[o + 1] = img.data[o + 2] = g;
        img.data[o + 3] = 255;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  $("digits-numbers").textContent = `D's loss ${f.d_loss?.toFixed(3) ?? "–"} · G's loss ${f.g_loss?.toFixed(3) ?? "–"}`;
}

// ---- Controls. ------------------------------------------------------------

function setView(view) {
  state.view = view;
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("on", b.dataset.view === view);
  for (const v of ["1d", "2d", "digits"]) $(`view-${v}`).hidden = v !== view;
  for (const id of ["step-d", "step-g", "slow"]) $(id).disabled = view !== "2d";
  reset();
}

function bind() {
  for (const sel of document.querySelectorAll("select.loss")) {
    sel.innerHTML = LOSSES.map((l) => `<option>${l}</option>`).join("");
    sel.value = "non-saturating";
  }
  for (const id of ["g-lr", "d-lr"]) {
    // A select of GAN Lab's rates would not let a learner type 0 or 1e30
    // and see what happens; a number field with the rates as suggestions does.
    const input = document.createElement("input");
    input.type = "number"; input.id = id; input.step = "any"; input.setAttribute("list", "rates");
    $(id).replaceWith(input);
  }
  const list = document.createElement("datalist");
  list.id = "rates";
  list.innerHTML = RATES.map((r) => `<option value="${r}">`).join("");
  document.body.append(list);
  $("noise").insertAdjacentHTML("beforeend", `<option value="8g">8-D Gaussian (no manifold)</option>`);
  $("digit").insertAdjacentHTML("beforeend", Array.from({ length: 10 }, (_, d) => `<option value="${d}">${d}</option>`).join(""));
  loadControls(baseConfig("gaussians"));

  for (const b of document.querySelectorAll("nav button")) b.onclick = () => setView(b.dataset.view);
  $("play").onclick = () => {
    state.playing = !state.playing && !state.error;
    $("play").textContent = state.playing ? "❚❚ pause" : "▶ play";
  };
  $("reset").onclick = () => reset();
  $("step-d").onclick = () => act(() => state.lab.stepD(), 1);
  $("step-g").onclick = () => act(() => state.lab.stepG(), 1);
  $("step-both").onclick = () => act(() => state.lab.train(1), 1);
  $("speed").oninput = () => ($("speed-value").textContent = $("speed").value);
  $("backend-choice").onchange = async () => {
    const url = new URL(location.href);
    url.searchParams.set("backend", $("backend-choice").value);
    location.href = url.href;
  };
  $("d2-data").onchange = () => {
    const data = $("d2-data").value;
    loadControls(baseConfig(data));
    $("draw-hint").hidden = data !== "drawn";
    if (data !== "drawn") reset();
    else draw2d(state.frame ?? { window: [0, 1], cells: 0, d_surface: [], real: [], fake: [], arrows: [], d_star: [], coverage: null });
  };
  $("draw-clear").onclick = () => { state.drawn = []; reset(); };
  // Live changes, as GAN Lab allows: update counts and learning rates.
  const live = async () => {
    if (!state.lab || state.busy) return;
    try {
      if (state.view === "2d") {
        state.lab.setUpdates(numberOf("d-steps"), numberOf("g-steps"));
        state.lab.setLearningRates(numberOf("g-lr"), numberOf("d-lr"));
      }
    } catch (e) {
      showError(e.message ?? e);
    }
  };
  for (const id of ["d-steps", "g-steps", "g-lr", "d-lr"]) $(id).onchange = live;
  $("conditional").onchange = () => reset();
  $("digit").onchange = () => state.lab && !state.busy && refresh();
  // Drawing a distribution: drag on the plot (GAN Lab's "draw your own").
  const canvas = $("d2-plot");
  let drawing = false;
  const add = (e) => {
    if (!drawing || $("d2-data").value !== "drawn") return;
    const r = canvas.getBoundingClientRect();
    const x = (e.clientX - r.left) / r.width, y = 1 - (e.clientY - r.top) / r.height;
    if (x >= 0 && x <= 1 && y >= 0 && y <= 1) state.drawn.push([x, y]);
    const p = plane(canvas, [0, 1]);
    dots(p, [x, y], "#ef6c00", 2);
  };
  canvas.onmousedown = (e) => { drawing = true; add(e); };
  canvas.onmousemove = add;
  window.addEventListener("mouseup", () => (drawing = false));
}

async function main() {
  try {
    await init();
    bind();
    await chooseBackend();
    await reset();
    state.ready = true;
  } catch (e) {
    showError(`the engine could not start: ${e.message ?? e}`);
  }
  requestAnimationFrame(tick);
}

main();
