//! The JavaScript API (`wasm-bindgen`), as the page's `app.js` calls it:
//!
//! ```js
//! const backend = await openBackend("webgpu");   // or "cpu"
//! const lab = new Lab(backend, "2d", defaultConfig("2d"));
//! lab.train(10);                                 // 10 steps, nothing read back
//! const frame = JSON.parse(await lab.frame());   // everything the page draws
//! ```
//!
//! A `Lab` holds one of the three views on one of the two backends. Its
//! methods return `Result`s, which reach JavaScript as exceptions carrying
//! the engine's message (a learning rate of 0, say, names the field).

use crate::digits::{default_config as digits_config, Digits};
use crate::lab1d::Lab1d;
use crate::lab2d::Lab2d;
use crate::read::{read_blocking, widen};
use minimax_cpu::Cpu;
use minimax_gan::image::ImageConfig;
use minimax_gan::{Config, Preset, TrainError};
use minimax_wgsl::Wgpu;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// An error as JavaScript sees it: an `Error` with the engine's message.
fn js(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The page's default config for a view, as JSON the page edits and hands
/// back to [`Lab::new`]: `1d` (the `default` preset), `2d` (GAN Lab's
/// model, [`Preset::GanLab`]), `ring` (the `2d` preset on the ring of 8),
/// `digits` or `digits-conditional`.
#[wasm_bindgen(js_name = defaultConfig)]
pub fn default_config(view: &str) -> Result<String, JsError> {
    let json = match view {
        "1d" => serde_json::to_string(&Config::preset(Preset::Default)),
        "2d" => serde_json::to_string(&Config::preset(Preset::GanLab)),
        "ring" => serde_json::to_string(&Config::preset(Preset::TwoD)),
        "digits" => serde_json::to_string(&digits_config(false)),
        "digits-conditional" => serde_json::to_string(&digits_config(true)),
        other => {
            return Err(js(format!(
                "no view {other:?}: expected 1d, 2d, ring, digits or digits-conditional"
            )))
        }
    };
    json.map_err(js)
}

/// A named 2-D data set's target as JSON (for the page's data picker), or
/// a drawn one from `[[x, y], …]` in the unit square.
#[wasm_bindgen(js_name = targetJson)]
pub fn target_json(name: &str, drawn: Option<String>) -> Result<String, JsError> {
    let target = match (name, drawn) {
        ("drawn", Some(points)) => {
            let points: Vec<[f64; 2]> = serde_json::from_str(&points).map_err(js)?;
            let t = minimax_gan::Target::drawn(points);
            t.validate().map_err(js)?;
            t
        }
        (name, _) => minimax_gan::Target::named_2d(name).map_err(js)?,
    };
    serde_json::to_string(&target).map_err(js)
}

/// The engine a lab trains on.
#[derive(Clone)]
enum Engine {
    Cpu(Cpu<f32>),
    Gpu(Wgpu),
}

/// A backend opened for the page: the CPU (WASM, one thread) or WebGPU.
#[wasm_bindgen]
pub struct BackendHandle {
    engine: Engine,
}

#[wasm_bindgen]
impl BackendHandle {
    /// What runs: `cpu (wasm32, 1 thread)` or the WebGPU adapter's name.
    pub fn name(&self) -> String {
        match &self.engine {
            Engine::Cpu(_) => "cpu (WebAssembly, 1 thread)".into(),
            // A browser may keep the adapter's name to itself (Chromium does).
            Engine::Gpu(g) => match g.adapter_summary() {
                s if s.trim_start().starts_with('(') => "WebGPU".into(),
                s => format!("WebGPU: {s}"),
            },
        }
    }

    /// `cpu` or `webgpu`.
    pub fn kind(&self) -> String {
        match &self.engine {
            Engine::Cpu(_) => "cpu".into(),
            Engine::Gpu(_) => "webgpu".into(),
        }
    }
}

/// Opens `webgpu` (WebGPU's adapter, from `navigator.gpu`) or `cpu`.
#[wasm_bindgen(js_name = openBackend)]
pub async fn open_backend(kind: String) -> Result<BackendHandle, JsError> {
    let engine = match kind.as_str() {
        "cpu" => Engine::Cpu(Cpu::<f32>::new()),
        "webgpu" => Engine::Gpu(Wgpu::new_async().await.map_err(js)?),
        other => return Err(js(format!("no backend {other:?}: expected webgpu or cpu"))),
    };
    Ok(BackendHandle { engine })
}

/// One view on one backend.
enum View {
    Line(Lab1d<Cpu<f32>>),
    LineGpu(Lab1d<Wgpu>),
    Plane(Lab2d<Cpu<f32>>),
    PlaneGpu(Lab2d<Wgpu>),
    Digits(Digits<Cpu<f32>>),
    DigitsGpu(Digits<Wgpu>),
}

/// Runs `$body` with `$lab` bound to whichever lab `$view` holds.
macro_rules! each {
    ($view:expr, $lab:ident => $body:expr) => {
        match $view {
            View::Line($lab) => $body,
            View::LineGpu($lab) => $body,
            View::Plane($lab) => $body,
            View::PlaneGpu($lab) => $body,
            View::Digits($lab) => $body,
            View::DigitsGpu($lab) => $body,
        }
    };
}

/// A GAN being trained for the page.
#[wasm_bindgen]
pub struct Lab {
    view: Rc<RefCell<View>>,
    engine: Engine,
}

#[wasm_bindgen]
impl Lab {
    /// A fresh lab: `view` is `1d`, `2d` or `digits`, `config` the JSON of
    /// [`default_config`], edited. A bad config is an exception naming the
    /// field.
    #[wasm_bindgen(constructor)]
    pub fn new(backend: &BackendHandle, view: &str, config: &str) -> Result<Lab, JsError> {
        let engine = backend.engine.clone();
        let parse = || serde_json::from_str::<Config>(config).map_err(js);
        let view = match (view, &engine) {
            ("1d", Engine::Cpu(b)) => View::Line(Lab1d::new(*b, parse()?).map_err(js)?),
            ("1d", Engine::Gpu(b)) => View::LineGpu(Lab1d::new(b.clone(), parse()?).map_err(js)?),
            ("2d", Engine::Cpu(b)) => View::Plane(Lab2d::new(*b, parse()?).map_err(js)?),
            ("2d", Engine::Gpu(b)) => View::PlaneGpu(Lab2d::new(b.clone(), parse()?).map_err(js)?),
            ("digits", e) => {
                let c: ImageConfig = serde_json::from_str(config).map_err(js)?;
                match e {
                    Engine::Cpu(b) => View::Digits(Digits::new(*b, c).map_err(js)?),
                    Engine::Gpu(b) => View::DigitsGpu(Digits::new(b.clone(), c).map_err(js)?),
                }
            }
            (other, _) => return Err(js(format!("no view {other:?}: expected 1d, 2d or digits"))),
        };
        Ok(Lab { view: Rc::new(RefCell::new(view)), engine })
    }

    /// `steps` steps of Algorithm 1; on WebGPU they are queued and this
    /// returns at once (nothing is read back).
    pub fn train(&self, steps: u32) -> Result<(), JsError> {
        each!(&mut *self.borrow_mut()?, lab => lab.train(steps)).map_err(js)
    }

    /// One D-update alone (the 2-D view).
    #[wasm_bindgen(js_name = stepD)]
    pub fn step_d(&self) -> Result<(), JsError> {
        match &mut *self.borrow_mut()? {
            View::Plane(lab) => lab.step_d().map_err(js),
            View::PlaneGpu(lab) => lab.step_d().map_err(js),
            _ => Err(js("stepping one player is for the 2-D view")),
        }
    }

    /// One G-update alone (the 2-D view).
    #[wasm_bindgen(js_name = stepG)]
    pub fn step_g(&self) -> Result<(), JsError> {
        match &mut *self.borrow_mut()? {
            View::Plane(lab) => lab.step_g().map_err(js),
            View::PlaneGpu(lab) => lab.step_g().map_err(js),
            _ => Err(js("stepping one player is for the 2-D view")),
        }
    }

    /// k and G's updates per step, from the next step on.
    #[wasm_bindgen(js_name = setUpdates)]
    pub fn set_updates(&self, d_steps: usize, g_steps: usize) -> Result<(), JsError> {
        match &mut *self.borrow_mut()? {
            View::Plane(lab) => lab.set_updates(d_steps, g_steps).map_err(js),
            View::PlaneGpu(lab) => lab.set_updates(d_steps, g_steps).map_err(js),
            View::Line(lab) => lab.set_updates(d_steps, g_steps).map_err(js),
            View::LineGpu(lab) => lab.set_updates(d_steps, g_steps).map_err(js),
            _ => Err(js("the digits view keeps its preset's updates")),
        }
    }

    /// G's and D's learning rates, from the next step on (the 2-D view).
    #[wasm_bindgen(js_name = setLearningRates)]
    pub fn set_learning_rates(&self, g_lr: f64, d_lr: f64) -> Result<(), JsError> {
        match &mut *self.borrow_mut()? {
            View::Plane(lab) => lab.set_learning_rates(g_lr, d_lr).map_err(js),
            View::PlaneGpu(lab) => lab.set_learning_rates(g_lr, d_lr).map_err(js),
            _ => Err(js("changing rates mid-run is for the 2-D view")),
        }
    }

    /// A frame of the view as JSON (a `Promise<string>`): on the CPU it is
    /// ready at once; on WebGPU the engine awaits its readback, and the
    /// page keeps drawing meanwhile. `digit` picks the digits view's class.
    pub fn frame(&self, digit: Option<u32>) -> Result<js_sys::Promise, JsError> {
        let digit = digit.map(|d| d as usize);
        // First half, now: queue the work, name the tensors.
        let pending = match &*self.view.try_borrow().map_err(|_| js(BUSY))? {
            View::Line(lab) => Pending::Line(lab.frame_request().map_err(js)?),
            View::LineGpu(lab) => Pending::LineGpu(lab.frame_request().map_err(js)?),
            View::Plane(lab) => Pending::Plane(lab.frame_request().map_err(js)?),
            View::PlaneGpu(lab) => Pending::PlaneGpu(lab.frame_request().map_err(js)?),
            View::Digits(lab) => Pending::Digits(lab.frame_request(digit).map_err(js)?),
            View::DigitsGpu(lab) => Pending::DigitsGpu(lab.frame_request(digit).map_err(js)?),
        };
        // Second half, later: read, then finish on the host.
        let engine = self.engine.clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let json = pending.finish(&engine).await.map_err(|e| JsValue::from(js(e)))?;
            Ok(JsValue::from_str(&json))
        }))
    }
}

/// Said when JavaScript calls a lab while its frame is being finished.
const BUSY: &str = "the lab is busy finishing a frame: await frame() first";

impl Lab {
    fn borrow_mut(&self) -> Result<std::cell::RefMut<'_, View>, JsError> {
        self.view.try_borrow_mut().map_err(|_| js(BUSY))
    }
}

/// A frame's first half, from any view on any backend.
enum Pending {
    Line(crate::lab1d::Pending1d<Cpu<f32>>),
    LineGpu(crate::lab1d::Pending1d<Wgpu>),
    Plane(crate::lab2d::Pending2d<Cpu<f32>>),
    PlaneGpu(crate::lab2d::Pending2d<Wgpu>),
    Digits(crate::digits::PendingDigits<Cpu<f32>>),
    DigitsGpu(crate::digits::PendingDigits<Wgpu>),
}

impl Pending {
    /// Reads this frame's tensors (a copy on the CPU, an awaited mapping on
    /// WebGPU) and finishes it, as JSON.
    async fn finish(self, engine: &Engine) -> Result<String, TrainError> {
        let to_json =
            |r: Result<String, serde_json::Error>| r.map_err(|e| TrainError::Config(e.to_string()));
        match (self, engine) {
            (Pending::Line(p), Engine::Cpu(b)) => {
                let v = read_blocking(b, &p.tensors)?;
                to_json(serde_json::to_string(&p.finish(v)?))
            }
            (Pending::Plane(p), Engine::Cpu(b)) => {
                let v = read_blocking(b, &p.tensors)?;
                to_json(serde_json::to_string(&p.finish(v)?))
            }
            (Pending::Digits(p), Engine::Cpu(b)) => {
                let v = read_blocking(b, &p.tensors)?;
                to_json(serde_json::to_string(&p.finish(v)?))
            }
            (Pending::LineGpu(p), Engine::Gpu(g)) => {
                let v = widen(g.download_many_async(&p.tensors.iter().collect::<Vec<_>>()).await?);
                to_json(serde_json::to_string(&p.finish(v)?))
            }
            (Pending::PlaneGpu(p), Engine::Gpu(g)) => {
                let v = widen(g.download_many_async(&p.tensors.iter().collect::<Vec<_>>()).await?);
                to_json(serde_json::to_string(&p.finish(v)?))
            }
            (Pending::DigitsGpu(p), Engine::Gpu(g)) => {
                let v = widen(g.download_many_async(&p.tensors.iter().collect::<Vec<_>>()).await?);
                to_json(serde_json::to_string(&p.finish(v)?))
            }
            _ => Err(TrainError::Config("a frame read on another backend than its lab's".into())),
        }
    }
}
