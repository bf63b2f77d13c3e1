"""Peer figures for `cargo bench --bench train_step`: the same two training
steps in NumPy (float32, one thread), written by hand (forward, backward,
update), and in PyTorch if `import torch` works.

- devnag: one epoch of Dev Nag's GAN = 20 D-steps + 20 G-steps, batch 500;
  G 1 -> 5 -> 5 -> 1 (tanh, tanh, linear), D on the batch's 4 moments
  4 -> 10 -> 10 -> 1 (sigmoid, sigmoid, then the sigmoid inside BCE),
  SGD(lr=1e-3, momentum=0.9). Median ms per epoch over 7 epochs.
- mlp: 784 -> 256 -> 256 -> 1 with LeakyReLU(0.2), BCE with logits, Adam,
  batch 64. Median ms per step over 7 repeats of 50 steps.

Run: `python3 benches/peers/train_step.py`. These measure the same work,
not the same code: NumPy calls are the per-op overhead a Python framework
pays, which is what PyTorch's figures for steps this small are dominated by.
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[var] = "1"

import statistics
import time

import numpy as np

REPEATS = 7
F = np.float32


def median_ms(fn, inner=1):
    """Median milliseconds of one call of `fn` (run `inner` times per repeat)."""
    fn()
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner * 1e3)
    return statistics.median(times)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def linear_init(rng, fan_in, fan_out):
    a = 1.0 / np.sqrt(fan_in)
    return [rng.uniform(-a, a, (fan_in, fan_out)).astype(F), rng.uniform(-a, a, (1, fan_out)).astype(F)]


class DevNag:
    """Dev Nag's GAN with hand-written gradients."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.rng = rng
        self.g = linear_init(rng, 1, 5) + linear_init(rng, 5, 5) + linear_init(rng, 5, 1)
        self.d = linear_init(rng, 4, 10) + linear_init(rng, 10, 10) + linear_init(rng, 10, 1)
        self.vg = [np.zeros_like(p) for p in self.g]
        self.vd = [np.zeros_like(p) for p in self.d]

    def g_forward(self, z):
        w0, b0, w1, b1, w2, b2 = self.g
        h0 = np.tanh(z @ w0 + b0)
        h1 = np.tanh(h0 @ w1 + b1)
        return h1 @ w2 + b2, (z, h0, h1)

    def g_backward(self, dy, cache):
        w0, b0, w1, b1, w2, b2 = self.g
        z, h0, h1 = cache
        dw2, db2 = h1.T @ dy, dy.sum(0, keepdims=True)
        dh1 = (dy @ w2.T) * (1 - h1 * h1)
        dw1, db1 = h0.T @ dh1, dh1.sum(0, keepdims=True)
        dh0 = (dh1 @ w1.T) * (1 - h0 * h0)
        dw0, db0 = z.T @ dh0, dh0.sum(0, keepdims=True)
        return [dw0, db0, dw1, db1, dw2, db2]

    @staticmethod
    def moments(x):
        n = x.shape[0]
        mean = x.mean(0, keepdims=True)
        d = x - mean
        std = np.sqrt((d * d).mean(0, keepdims=True))
        zs = d / std
        skew = (zs**3).mean(0, keepdims=True)
        kurt = (zs**4).mean(0, keepdims=True) - 3
        return np.concatenate([mean, std, skew, kurt], 1), (n, d, std, zs)

    @staticmethod
    def moments_backward(dm, cache):
        n, d, std, zs = cache
        dmean, dstd, dskew, dkurt = dm[:, 0:1], dm[:, 1:2], dm[:, 2:3], dm[:, 3:4]
        dz = dskew * 3 * zs**2 / n + dkurt * 4 * zs**3 / n
        dd = dz / std
        dstd = dstd - (dz * d).sum(0, keepdims=True) / (std * std)
        dd = dd + dstd * d / (n * std)
        dx = dd - dd.sum(0, keepdims=True) / n
        return dx + dmean / n

    def d_forward(self, m):
        w0, b0, w1, b1, w2, b2 = self.d
        h0 = sigmoid(m @ w0 + b0)
        h1 = sigmoid(h0 @ w1 + b1)
        return h1 @ w2 + b2, (m, h0, h1)

    def d_backward(self, dl, cache):
        w0, b0, w1, b1, w2, b2 = self.d
        m, h0, h1 = cache
        dw2, db2 = h1.T @ dl, dl
        dh1 = (dl @ w2.T) * h1 * (1 - h1)
        dw1, db1 = h0.T @ dh1, dh1
        dh0 = (dh1 @ w1.T) * h0 * (1 - h0)
        dw0, db0 = m.T @ dh0, dh0
        return [dw0, db0, dw1, db1, dw2, db2], dh0 @ w0.T

    @staticmethod
    def sgd(params, grads, velocity):
        for p, g, v in zip(params, grads, velocity):
            v *= 0.9
            v += g
            p -= 1e-3 * v

    def d_step(self):
        real = (4.0 + 1.25 * self.rng.standard_normal((500, 1))).astype(F)
        fake, _ = self.g_forward(self.rng.random((500, 1), dtype=F))
        m_real, _ = self.moments(real)
        m_fake, _ = self.moments(fake)
        l_real, c_real = self.d_forward(m_real)
        l_fake, c_fake = self.d_forward(m_fake)
        _loss = softplus(l_real) - l_real + softplus(l_fake)  # BCE(real, 1) + BCE(fake, 0)
        g_real, _ = self.d_backward(sigmoid(l_real) - 1, c_real)
        g_fake, _ = self.d_backward(sigmoid(l_fake), c_fake)
        self.sgd(self.d, [a + b for a, b in zip(g_real, g_fake)], self.vd)

    def g_step(self):
        fake, g_cache = self.g_forward(self.rng.random((500, 1), dtype=F))
        m, m_cache = self.moments(fake)
        l, d_cache = self.d_forward(m)
        _loss = softplus(-l)  # non-saturating
        _, dm = self.d_backward(sigmoid(l) - 1, d_cache)
        self.sgd(self.g, self.g_backward(self.moments_backward(dm, m_cache), g_cache), self.vg)

    def epoch(self):
        for _ in range(20):
            self.d_step()
        for _ in range(20):
            self.g_step()


class MlpStep:
    """784-256-256-1, LeakyReLU(0.2), BCE with logits, Adam(2e-4, 0.5, 0.999)."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.p = linear_init(rng, 784, 256) + linear_init(rng, 256, 256) + linear_init(rng, 256, 1)
        self.m = [np.zeros_like(p) for p in self.p]
        self.v = [np.zeros_like(p) for p in self.p]
        self.t = 0
        self.x = rng.uniform(-1, 1, (64, 784)).astype(F)
        self.y = (rng.random((64, 1)) < 0.5).astype(F)

    def step(self):
        w0, b0, w1, b1, w2, b2 = self.p
        a0 = self.x @ w0 + b0
        h0 = np.where(a0 > 0, a0, F(0.2) * a0)
        a1 = h0 @ w1 + b1
        h1 = np.where(a1 > 0, a1, F(0.2) * a1)
        logits = h1 @ w2 + b2
        _loss = (softplus(logits) - self.y * logits).mean()
        dl = (sigmoid(logits) - self.y) / F(64)
        dw2, db2 = h1.T @ dl, dl.sum(0, keepdims=True)
        da1 = (dl @ w2.T) * np.where(a1 > 0, F(1), F(0.2))
        dw1, db1 = h0.T @ da1, da1.sum(0, keepdims=True)
        da0 = (da1 @ w1.T) * np.where(a0 > 0, F(1), F(0.2))
        dw0, db0 = self.x.T @ da0, da0.sum(0, keepdims=True)
        self.t += 1
        bc1, bc2 = 1 - 0.5**self.t, 1 - 0.999**self.t
        for p, g, m, v in zip(self.p, [dw0, db0, dw1, db1, dw2, db2], self.m, self.v):
            m *= 0.5
            m += 0.5 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= F(2e-4) * (m / F(bc1)) / (np.sqrt(v / F(bc2)) + F(1e-8))


def torch_figures():
    try:
        import torch
    except ImportError:
        print("torch: not importable, PyTorch rows omitted")
        return
    torch.set_num_threads(1)
    nn = torch.nn
    g = nn.Sequential(nn.Linear(1, 5), nn.Tanh(), nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, 1))
    d = nn.Sequential(nn.Linear(4, 10), nn.Sigmoid(), nn.Linear(10, 10), nn.Sigmoid(), nn.Linear(10, 1))
    g_opt = torch.optim.SGD(g.parameters(), lr=1e-3, momentum=0.9)
    d_opt = torch.optim.SGD(d.parameters(), lr=1e-3, momentum=0.9)
    bce = nn.BCEWithLogitsLoss()

    def moments(x):
        mean = x.mean(0, keepdim=True)
        dd = x - mean
        std = (dd * dd).mean(0, keepdim=True).sqrt()
        z = dd / std
        return torch.cat([mean, std, (z**3).mean(0, keepdim=True), (z**4).mean(0, keepdim=True) - 3], 1)

    def epoch():
        for _ in range(20):
            d.zero_grad()
            real = 4 + 1.25 * torch.randn(500, 1)
            fake = g(torch.rand(500, 1)).detach()
            loss = bce(d(moments(real)), torch.ones(1, 1)) + bce(d(moments(fake)), torch.zeros(1, 1))
            loss.backward()
            d_opt.step()
        for _ in range(20):
            g.zero_grad()
            loss = bce(d(moments(g(torch.rand(500, 1)))), torch.ones(1, 1))
            loss.backward()
            g_opt.step()

    print(f"torch {torch.__version__} devnag: {median_ms(epoch):.3f} ms/epoch")
    mlp = nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))
    opt = torch.optim.Adam(mlp.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x, y = torch.rand(64, 784) * 2 - 1, (torch.rand(64, 1) < 0.5).float()

    def step():
        opt.zero_grad()
        bce(mlp(x), y).backward()
        opt.step()

    print(f"torch {torch.__version__} mlp: {median_ms(step, 50):.3f} ms/step")


def main():
    print(f"numpy {np.__version__}, float32, 1 thread")
    devnag = DevNag()
    epoch = median_ms(devnag.epoch)
    print(f"numpy devnag: {epoch:.3f} ms/epoch  {epoch / 40 * 1e3:.1f} µs/step  5000 epochs ≈ {epoch * 5:.1f} s")
    mlp = MlpStep()
    print(f"numpy mlp: {median_ms(mlp.step, 50):.3f} ms/step")
    torch_figures()


if __name__ == "__main__":
    main()
