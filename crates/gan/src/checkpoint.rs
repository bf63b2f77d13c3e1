//! Saving and resuming a training run, as a safetensors file.
//!
//! A checkpoint holds everything a run's future depends on:
//!
//! - tensors: `generator.{param}` and `discriminator.{param}` (weights and
//!   biases), and each optimizer's state `generator_optimizer.{param}.{slot}`
//!   (`velocity` for SGD; `m`, `v` for Adam);
//! - metadata: `format` (`minimax-gan-checkpoint`), `version`, `step`,
//!   `seed`, each optimizer's update count (Adam's `t`), the element type,
//!   and the whole `config` as JSON.
//!
//! Per-step randomness is derived from `(seed, step)`, so nothing else is
//! needed: a resumed run continues exactly as the uninterrupted one would.

use crate::config::Config;
use crate::json::JsonValue;
use crate::safetensors::{self, NamedTensor, TensorData};
use crate::train::{TrainError, Trainer};
use crate::ParamStore;
use minimax_autodiff::{Backend, Real, Shape, TensorShape};
use std::collections::BTreeMap;
use std::path::Path;

/// The value of the `format` metadata key.
pub const FORMAT: &str = "minimax-gan-checkpoint";
/// The value of the `version` metadata key.
pub const VERSION: &str = "1";

/// A host copy of a device tensor, in the backend's own precision.
fn named<B: Backend>(backend: &B, name: String, t: &B::Tensor) -> Result<NamedTensor, TrainError> {
    let shape = t.shape();
    let values = backend.download(t)?;
    let dims = vec![shape.rows, shape.cols];
    Ok(if B::Elem::NAME == "f32" {
        NamedTensor::f32(name, dims, values.iter().map(|x| x.to_f64() as f32).collect())
    } else {
        NamedTensor::f64(name, dims, values.iter().map(|x| x.to_f64()).collect())
    })
}

impl<B: Backend> Trainer<B> {
    /// Writes the run's state to `path` atomically (a crash mid-write leaves
    /// the previous checkpoint in place).
    pub fn save_checkpoint(&self, path: &Path) -> Result<(), TrainError> {
        let be = self.backend();
        let mut tensors = Vec::new();
        let (g_opt, d_opt) = self.optimizers();
        for (net, params, opt) in
            [("generator", self.g_params(), g_opt), ("discriminator", self.d_params(), d_opt)]
        {
            for p in params.iter() {
                tensors.push(named(be, format!("{net}.{}", p.name), &p.tensor)?);
            }
            for (name, t) in opt.state(params) {
                tensors.push(named(be, format!("{net}_optimizer.{name}"), &t)?);
            }
        }
        let metadata = BTreeMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("step".to_string(), self.step().to_string()),
            ("seed".to_string(), self.config().seed.to_string()),
            ("generator_updates".to_string(), g_opt.steps().to_string()),
            ("discriminator_updates".to_string(), d_opt.steps().to_string()),
            ("dtype".to_string(), B::Elem::NAME.to_string()),
            ("config".to_string(), self.config().to_json().to_compact()),
        ]);
        safetensors::save(path, &tensors, &metadata)
            .map_err(|e| TrainError::Checkpoint(e.to_string()))
    }

    /// Rebuilds a run from a checkpoint written by [`Trainer::save_checkpoint`].
    ///
    /// A file that is not safetensors, is truncated, is another program's,
    /// or lacks a tensor the config needs is refused with a message naming
    /// the file and what is wrong.
    pub fn from_checkpoint(backend: B, path: &Path) -> Result<Trainer<B>, TrainError> {
        let (tensors, meta) =
            safetensors::load(path).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        let bad = |why: String| TrainError::Checkpoint(format!("{}: {why}", path.display()));
        let meta_get = |key: &str| {
            meta.get(key).ok_or_else(|| {
                bad(format!("not a minimax GAN checkpoint (no \"{key}\" in its metadata)"))
            })
        };
        if meta_get("format")? != FORMAT {
            return Err(bad(format!("not a minimax GAN checkpoint (format {:?})", meta["format"])));
        }
        if meta_get("version")? != VERSION {
            return Err(bad(format!(
                "checkpoint version {:?}, this program reads {VERSION}",
                meta["version"]
            )));
        }
        let number = |key: &str| -> Result<u64, TrainError> {
            meta_get(key)?
                .parse()
                .map_err(|_| bad(format!("metadata {key:?} is not a whole number")))
        };
        let json =
            JsonValue::parse(meta_get("config")?).map_err(|e| bad(format!("config: {e}")))?;
        let config = Config::from_json(&json).map_err(|e| bad(format!("config: {e}")))?;

        let mut trainer = Trainer::new(backend, config)?;
        let by_name: BTreeMap<&str, &NamedTensor> =
            tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        let be = trainer.backend.clone();
        let lookup = |name: &str, shape: Shape| -> Result<B::Tensor, String> {
            let t = by_name.get(name).ok_or_else(|| format!("tensor {name:?} is missing"))?;
            if t.shape != [shape.rows, shape.cols] {
                return Err(format!(
                    "tensor {name:?} has shape {:?}, the config needs {shape}",
                    t.shape
                ));
            }
            let values = match &t.data {
                TensorData::F32(v) => {
                    v.iter().map(|&x| B::Elem::from_f64(x as f64)).collect::<Vec<_>>()
                }
                TensorData::F64(v) => v.iter().map(|&x| B::Elem::from_f64(x)).collect(),
            };
            if values.iter().any(|x| !x.is_finite()) {
                return Err(format!("tensor {name:?} holds a NaN or infinite value"));
            }
            be.upload(shape, &values).map_err(|e| e.to_string())
        };
        let load_params = |net: &str, store: &mut ParamStore<B>| -> Result<(), String> {
            for p in store.iter_mut() {
                p.tensor = lookup(&format!("{net}.{}", p.name), p.tensor.shape())?;
            }
            Ok(())
        };
        load_params("generator", &mut trainer.g_params).map_err(bad)?;
        load_params("discriminator", &mut trainer.d_params).map_err(bad)?;
        let g_updates = number("generator_updates")? as u32;
        let d_updates = number("discriminator_updates")? as u32;
        trainer
            .g_opt
            .load_state(&trainer.g_params, g_updates, |n, s| {
                lookup(&format!("generator_optimizer.{n}"), s)
            })
            .map_err(bad)?;
        trainer
            .d_opt
            .load_state(&trainer.d_params, d_updates, |n, s| {
                lookup(&format!("discriminator_optimizer.{n}"), s)
            })
            .map_err(bad)?;
        trainer.step = number("step")?;
        Ok(trainer)
    }
}
