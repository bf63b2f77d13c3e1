// Shared by the browser tests and the TensorFlow.js comparison: a static
// server for web/ on 127.0.0.1 (WebGPU needs a secure context, and
// localhost is one), and Debian's Chromium with WebGPU on SwiftShader.

import { createServer } from "node:http";
import { readFile, mkdtemp } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { tmpdir } from "node:os";
import { chromium } from "playwright-core";

const TYPES = {
  ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript",
  ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png",
};

/// Serves `root` on a free port; resolves to `{ url, close }`.
export async function serve(root) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(root, path.endsWith("/") ? path + "index.html" : path);
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/// The flags under which headless Chromium runs WebGPU compute here: on
/// SwiftShader (a CPU), with nothing reaching out to the network.
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan",
  "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
];

/// Chromium with a fresh profile in a new temporary folder.
export async function launch() {
  const profile = await mkdtemp(join(tmpdir(), "minimax-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [...CHROMIUM_ARGS, ...(process.env.EXTRA_ARGS ? process.env.EXTRA_ARGS.split(' ') : [])],
    viewport: { width: 1400, height: 1000 },
  });
  return context;
}
