//! Saving and resuming a GAN training run, as a safetensors file.
//!
//! A checkpoint holds everything a run's future depends on:
//!
//! - tensors: `generator.{param}` and `discriminator.{param}` (weights and
//!   biases), and each optimizer's state `generator_optimizer.{param}.{slot}`
//!   (`velocity` for SGD; `m`, `v` for Adam);
//! - metadata: `format` (`minimax-gan-checkpoint`), `version`, `step`,
//!   `seed`, the element type `dtype`, each optimizer's number of steps and
//!   its per-parameter update counts (Adam's `t`), the whole `config` as
//!   JSON, and `checksum`, an FNV-1a hash of every other metadata entry
//!   (in key order) and every tensor (name, shape and bytes, in name
//!   order), each piece preceded by its length.
//!
//! The file is written in one order (metadata keys sorted, tensors by
//! name), so two identical runs give byte-identical checkpoints.
//!
//! Per-step randomness is derived from `(seed, step)`, so nothing else is
//! needed: a resumed run continues exactly as the uninterrupted one would.
//!
//! What [`save`] promises: the file is written whole or not at all
//! ([`crate::fsutil::write_atomic`]), and only if every tensor in it is
//! finite, so any checkpoint on disk can be resumed.
//!
//! What [`load`] checks, **before anything is allocated from the file**: the
//! safetensors framing (the crate's own checks), the format and version, the
//! config (unknown fields refused, every value validated, sizes bounded),
//! that the file holds exactly the tensors the config implies (none missing,
//! none extra) with their shapes and the declared dtype, every counter as a
//! whole number in range, the seed against the config's, the step against
//! the config's planned steps, the checksum, and that every value is finite.
//! Each refusal names the file and what is wrong.
//!
//! The image GAN's checkpoints ([`save_image`], [`load_image`]) share the
//! layout and every check, with their own `format`
//! (`minimax-image-gan-checkpoint`), the batch-norm running statistics (G's,
//! and DCGAN's D's) beside the parameters, and the data set the run trains on (`data`, its
//! name, and `data_fingerprint`, [`Splits::fingerprint`]): a resume on
//! other data is refused, naming both. So does the judging classifier's cache
//! ([`save_classifier`], [`load_classifier`]), keyed by its data set's
//! fingerprint and its config. With `g_ema` the image checkpoints also
//! hold the EMA of G's weights (`generator_ema.{param}`,
//! `generator_ema_running.{name}`), so a resume continues the average bit
//! for bit too. One G alone (a run's best, `best.safetensors`:
//! [`save_generator`], [`load_generator`]) is the same layout again, with
//! its own `format` (`minimax-image-generator`), G's tensors only, and
//! which G it is (`g`: `raw` or `ema`) and its judged Fréchet distance.

use crate::datasets::Splits;
use crate::fsutil;
use crate::hash::Fnv1a;
use minimax_autodiff::{Backend, Real, Shape, TensorShape};
use minimax_gan::image::classifier::ClassifierConfig;
use minimax_gan::image::{Classifier, GChoice, GWeights, ImageConfig, ImageData, ImageTrainer};
use minimax_gan::{Config, Discriminator, Generator, Progress, RunHooks, TrainError, Trainer};
use minimax_nn::{Module, Optimizer, ParamStore};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The value of the `format` metadata key.
pub const FORMAT: &str = "minimax-gan-checkpoint";
/// The value of the `version` metadata key (2: serde config, per-parameter
/// update counts, checksum of the tensors; 3: the checksum covers the
/// metadata too, and image checkpoints record their data set).
///
/// Version 2 files are refused, with a message saying why: their checksum
/// leaves the step and the config unchecked, and an image run's records no
/// data set to check a resume against.
pub const VERSION: &str = "3";
/// The file name of a run's checkpoint inside its output folder.
pub const FILE_NAME: &str = "checkpoint.safetensors";

/// Where the checkpoint of a run writing into `dir` goes.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The two networks' names in tensor names, and their parts of a trainer.
const NETS: [&str; 2] = ["generator", "discriminator"];

/// One tensor on the host, as little-endian bytes of the backend's type.
struct HostTensor {
    name: String,
    shape: Shape,
    bytes: Vec<u8>,
}

/// Downloads `t`, refusing it if any value is NaN or infinite.
fn host<B: Backend>(be: &B, name: String, t: &B::Tensor) -> Result<HostTensor, TrainError> {
    let values = be.download(t)?;
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(TrainError::Checkpoint(format!(
            "not saving: tensor {name} holds {}, and a checkpoint must hold finite values",
            v.to_f64()
        )));
    }
    let bytes = if B::Elem::NAME == "f32" {
        values.iter().flat_map(|v| (v.to_f64() as f32).to_le_bytes()).collect()
    } else {
        values.iter().flat_map(|v| v.to_f64().to_le_bytes()).collect()
    };
    Ok(HostTensor { name, shape: t.shape(), bytes })
}

/// Writes the run's state to `path` atomically (a crash mid-write leaves
/// the previous checkpoint in place). Refuses, writing nothing, if any
/// parameter or optimizer state is not finite.
pub fn save<B: Backend>(trainer: &Trainer<B>, path: &Path) -> Result<(), TrainError> {
    let be = trainer.backend();
    let (g_opt, d_opt) = trainer.optimizers();
    let mut file = Outgoing::default();
    file.network(be, NETS[0], trainer.g_params(), g_opt)?;
    file.network(be, NETS[1], trainer.d_params(), d_opt)?;
    let config = serde_json::to_string(trainer.config())
        .map_err(|e| TrainError::Checkpoint(format!("the config does not serialise: {e}")))?;
    file.write::<B>(path, FORMAT, trainer.step(), trainer.config().seed, config)
}

/// A checkpoint being assembled: tensors on the host and metadata.
#[derive(Default)]
struct Outgoing {
    tensors: Vec<HostTensor>,
    meta: BTreeMap<String, String>,
}

impl Outgoing {
    /// A network's parameters `{net}.{param}`, its optimizer's state
    /// `{net}_optimizer.{param}.{slot}`, and the optimizer's counters.
    fn network<B: Backend>(
        &mut self,
        be: &B,
        net: &str,
        params: &ParamStore<B>,
        opt: &Optimizer<B>,
    ) -> Result<(), TrainError> {
        self.store(be, net, params)?;
        for (name, t) in opt.state(params) {
            self.tensors.push(host(be, format!("{net}_optimizer.{name}"), &t)?);
        }
        self.meta.insert(format!("{net}_steps"), opt.steps().to_string());
        let counts = serde_json::to_string(opt.update_counts()).expect("a list of numbers");
        self.meta.insert(format!("{net}_update_counts"), counts);
        Ok(())
    }

    /// Every tensor of `store` as `{prefix}.{name}`.
    fn store<B: Backend>(
        &mut self,
        be: &B,
        prefix: &str,
        store: &ParamStore<B>,
    ) -> Result<(), TrainError> {
        for p in store.iter() {
            self.tensors.push(host(be, format!("{prefix}.{}", p.name), &p.tensor)?);
        }
        Ok(())
    }

    /// Adds the common metadata and the checksum, and writes the file
    /// atomically.
    fn write<B: Backend>(
        mut self,
        path: &Path,
        format: &str,
        step: u64,
        seed: u64,
        config: String,
    ) -> Result<(), TrainError> {
        let mut tensors = self.tensors;
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        for (key, value) in [
            ("format", format.to_string()),
            ("version", VERSION.to_string()),
            ("step", step.to_string()),
            ("seed", seed.to_string()),
            ("dtype", B::Elem::NAME.to_string()),
            ("config", config),
        ] {
            self.meta.insert(key.to_string(), value);
        }
        let sum = checksum(
            self.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            tensors.iter().map(|t| (t.name.as_str(), [t.shape.rows, t.shape.cols], &t.bytes[..])),
        );
        self.meta.insert("checksum".into(), format!("{sum:016x}"));
        let dtype = if B::Elem::NAME == "f32" { "F32" } else { "F64" };
        let bytes = serialize(&self.meta, &tensors, dtype);
        fsutil::write_atomic(path, &bytes)
            .map_err(|e| TrainError::Checkpoint(format!("writing {}: {e}", path.display())))
    }
}

/// The safetensors file of `meta` and `tensors` (sorted by name), in one
/// order: the metadata's keys sorted, then the tensors. (The safetensors
/// crate writes the metadata from a `HashMap`, in a random order.)
fn serialize(meta: &BTreeMap<String, String>, tensors: &[HostTensor], dtype: &str) -> Vec<u8> {
    let quoted = |s: &str| serde_json::to_string(s).expect("a string");
    let mut header =
        format!("{{\"__metadata__\":{}", serde_json::to_string(meta).expect("strings"));
    let mut offset = 0;
    for t in tensors {
        let end = offset + t.bytes.len();
        let (name, rows, cols) = (quoted(&t.name), t.shape.rows, t.shape.cols);
        write!(
            header,
            ",{name}:{{\"dtype\":\"{dtype}\",\"shape\":[{rows},{cols}],\"data_offsets\":[{offset},{end}]}}"
        )
        .expect("a string");
        offset = end;
    }
    header.push('}');
    // The format pads the header with spaces to a multiple of 8 bytes.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + offset);
    bytes.extend((header.len() as u64).to_le_bytes());
    bytes.extend(header.as_bytes());
    for t in tensors {
        bytes.extend(&t.bytes);
    }
    bytes
}

/// A checkpoint's checksum: FNV-1a of every metadata entry but `checksum`
/// itself, in key order, then of every tensor in name order (its name, its
/// shape, its bytes); each piece is preceded by its length, so no two
/// different files feed the hash the same bytes. A changed step, learning
/// rate or tensor value changes it (up to the odds of a 64-bit collision).
fn checksum<'a>(
    meta: impl IntoIterator<Item = (&'a str, &'a str)>,
    tensors: impl IntoIterator<Item = (&'a str, [usize; 2], &'a [u8])>,
) -> u64 {
    let mut h = Fnv1a::new();
    let mut piece = |bytes: &[u8]| {
        h.write(&(bytes.len() as u64).to_le_bytes());
        h.write(bytes);
    };
    let meta: BTreeMap<&str, &str> = meta.into_iter().filter(|(k, _)| *k != "checksum").collect();
    for (key, value) in meta {
        piece(key.as_bytes());
        piece(value.as_bytes());
    }
    for (name, [rows, cols], bytes) in tensors {
        piece(name.as_bytes());
        piece(&(rows as u64).to_le_bytes());
        piece(&(cols as u64).to_le_bytes());
        piece(bytes);
    }
    h.finish()
}

/// What [`check`] learned from a file: everything needed to rebuild the
/// run, validated, with nothing allocated on a device yet.
struct Checked {
    config: Config,
    step: u64,
    /// Per network: (optimizer steps, per-parameter update counts).
    updates: [(u32, Vec<u32>); 2],
}

/// Rebuilds a run from a checkpoint written by [`save`], on `backend`.
///
/// Everything in the file is checked first (see the module docs), then the
/// networks are allocated and the tensors uploaded.
pub fn load<B: Backend>(backend: B, path: &Path) -> Result<Trainer<B>, TrainError> {
    let bad = |why: String| TrainError::Checkpoint(format!("{}: {why}", path.display()));
    let bytes = read(path)?;
    let (file, meta) = parse(&bytes).map_err(bad)?;
    let checked = check(&file, &meta).map_err(bad)?;

    let mut trainer = Trainer::new(backend, checked.config)?;
    let be = trainer.backend().clone();
    let (g_params, d_params, g_opt, d_opt) = trainer.parts_mut();
    let parts: [(&mut ParamStore<B>, &mut Optimizer<B>); 2] =
        [(g_params, g_opt), (d_params, d_opt)];
    for ((net, (params, opt)), (steps, counts)) in NETS.iter().zip(parts).zip(&checked.updates) {
        restore_network(&be, &file, net, params, opt, *steps, counts).map_err(bad)?;
    }
    trainer.set_step(checked.step);
    Ok(trainer)
}

/// The file's bytes.
fn read(path: &Path) -> Result<Vec<u8>, TrainError> {
    std::fs::read(path)
        .map_err(|e| TrainError::Checkpoint(format!("{}: cannot read it: {e}", path.display())))
}

/// The safetensors framing (the crate's own checks) and the metadata.
fn parse(bytes: &[u8]) -> Result<(SafeTensors<'_>, HashMap<String, String>), String> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    Ok((file, header.metadata().clone().unwrap_or_default()))
}

/// Uploads `{prefix}.{name}` of `file` into each tensor of `store`, keeping
/// its shape (checked against the file by [`check_tensors`] already).
fn restore_store<B: Backend>(
    be: &B,
    file: &SafeTensors<'_>,
    prefix: &str,
    store: &mut ParamStore<B>,
) -> Result<(), String> {
    for p in store.iter_mut() {
        p.tensor = upload_named(be, file, &format!("{prefix}.{}", p.name), p.tensor.shape())?;
    }
    Ok(())
}

/// A network's parameters and its optimizer's state and counters.
fn restore_network<B: Backend>(
    be: &B,
    file: &SafeTensors<'_>,
    net: &str,
    params: &mut ParamStore<B>,
    opt: &mut Optimizer<B>,
    steps: u32,
    counts: &[u32],
) -> Result<(), String> {
    restore_store(be, file, net, params)?;
    opt.load_state(params, steps, counts, |n, s| {
        upload_named(be, file, &format!("{net}_optimizer.{n}"), s)
    })
}

/// Tensor `name` of `file`, uploaded as `shape`.
fn upload_named<B: Backend>(
    be: &B,
    file: &SafeTensors<'_>,
    name: &str,
    shape: Shape,
) -> Result<B::Tensor, String> {
    let view = file.tensor(name).map_err(|e| format!("tensor {name}: {e}"))?;
    be.upload(shape, &decode::<B>(&view)).map_err(|e| format!("tensor {name}: {e}"))
}

/// A tensor's values in the backend's type (f32 files widen exactly; f64
/// files load into f32 backends rounded).
fn decode<B: Backend>(view: &TensorView<'_>) -> Vec<B::Elem> {
    match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|c| B::Elem::from_f64(f32::from_le_bytes(c.try_into().unwrap()) as f64))
            .collect(),
        _ => view
            .data()
            .chunks_exact(8)
            .map(|c| B::Elem::from_f64(f64::from_le_bytes(c.try_into().unwrap())))
            .collect(),
    }
}

/// The metadata, read with errors that name the key.
struct Meta<'a>(&'a HashMap<String, String>);

impl Meta<'_> {
    fn get(&self, key: &str) -> Result<&str, String> {
        self.0
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("not a minimax GAN checkpoint (no {key:?} in its metadata)"))
    }

    fn whole(&self, key: &str) -> Result<u64, String> {
        let v = self.get(key)?;
        v.parse().map_err(|_| format!("metadata {key} = {v:?} is not a whole number"))
    }

    /// The format (`format`), the version, and the declared dtype.
    fn header(&self, format: &str) -> Result<Dtype, String> {
        if self.get("format")? != format {
            return Err(format!(
                "not a minimax GAN checkpoint of this kind (format {:?}, expected {format:?})",
                self.get("format")?
            ));
        }
        match self.get("version")? {
            VERSION => {}
            "2" => {
                return Err(format!(
                    "checkpoint version \"2\": its checksum covers the tensors only, not the \
                     metadata (step, config), and it names no data set; this program reads \
                     version {VERSION} only: train the run anew, or resume it with the build \
                     that wrote it"
                ))
            }
            other => {
                return Err(format!("checkpoint version {other:?}; this program reads {VERSION}"))
            }
        }
        match self.get("dtype")? {
            "f32" => Ok(Dtype::F32),
            "f64" => Ok(Dtype::F64),
            other => Err(format!("dtype {other:?}: expected f32 or f64")),
        }
    }

    /// The step, against the config's seed and planned steps.
    fn step(&self, seed: u64, planned: u64) -> Result<u64, String> {
        if self.whole("seed")? != seed {
            return Err(format!(
                "metadata seed {} contradicts the config's seed {seed}",
                self.get("seed")?
            ));
        }
        let step = self.whole("step")?;
        if step > planned {
            return Err(format!("step {step} is past the run's {planned} planned steps"));
        }
        Ok(step)
    }

    /// A network's optimizer counters (steps, per-parameter update counts),
    /// and its tensors (parameters, optimizer state) added to `expected`.
    fn network(
        &self,
        net: &str,
        specs: &[(String, Shape)],
        opt: minimax_nn::OptimizerConfig,
        expected: &mut BTreeMap<String, Shape>,
    ) -> Result<(u32, Vec<u32>), String> {
        for (name, shape) in specs {
            expected.insert(format!("{net}.{name}"), *shape);
        }
        for (name, shape) in minimax_nn::optim::state_specs(opt, specs) {
            expected.insert(format!("{net}_optimizer.{name}"), shape);
        }
        let steps = self.whole(&format!("{net}_steps"))?;
        let steps =
            u32::try_from(steps).map_err(|_| format!("{net}_steps = {steps} is out of range"))?;
        let key = format!("{net}_update_counts");
        let counts: Vec<u32> =
            serde_json::from_str(self.get(&key)?).map_err(|e| format!("metadata {key}: {e}"))?;
        if counts.len() != specs.len() || counts.iter().any(|&c| c > steps) {
            return Err(format!(
                "metadata {key} must list {} counts, none over {net}_steps = {steps}",
                specs.len()
            ));
        }
        Ok((steps, counts))
    }
}

/// Every check of the module docs, on the parsed file; allocates nothing
/// that the file's size does not already bound.
fn check(file: &SafeTensors<'_>, meta: &HashMap<String, String>) -> Result<Checked, String> {
    let meta = Meta(meta);
    let dtype = meta.header(FORMAT)?;
    let config: Config =
        serde_json::from_str(meta.get("config")?).map_err(|e| format!("its config: {e}"))?;
    config.validate().map_err(|e| format!("its config: {e}"))?;
    let step = meta.step(config.seed, config.steps)?;

    // The tensors the config implies, by name, and the file's, compared.
    let g = Generator::new(&config).map_err(|e| e.to_string())?;
    let d = Discriminator::new(&config).map_err(|e| e.to_string())?;
    let mut expected = BTreeMap::new();
    let g_updates =
        meta.network(NETS[0], &g.net.param_specs(), config.g_optimizer, &mut expected)?;
    let d_updates =
        meta.network(NETS[1], &d.net.param_specs(), config.d_optimizer, &mut expected)?;
    check_tensors(file, &meta, &expected, dtype)?;
    Ok(Checked { config, step, updates: [g_updates, d_updates] })
}

/// Tensors whose values are never negative: a batch-norm running variance
/// and Adam's second moment `v`.
fn never_negative(name: &str) -> bool {
    name.ends_with(".running_var") || (name.contains("_optimizer.") && name.ends_with(".v"))
}

/// That `file` holds exactly the `expected` tensors (none missing, none
/// extra), with their shapes and the declared dtype, every value finite,
/// and that the checksum matches.
fn check_tensors(
    file: &SafeTensors<'_>,
    meta: &Meta<'_>,
    expected: &BTreeMap<String, Shape>,
    dtype: Dtype,
) -> Result<(), String> {
    let mut names: Vec<&str> = file.names().into_iter().collect();
    names.sort();
    if let Some(extra) = names.iter().find(|n| !expected.contains_key(**n)) {
        return Err(format!("tensor {extra} is not part of this config's run"));
    }
    let mut summed = Vec::with_capacity(expected.len());
    for (name, shape) in expected {
        let view = file.tensor(name).map_err(|_| format!("tensor {name} is missing"))?;
        if view.shape() != [shape.rows, shape.cols] {
            return Err(format!(
                "tensor {name} has shape {:?}, the config needs {shape}",
                view.shape()
            ));
        }
        if view.dtype() != dtype {
            return Err(format!(
                "tensor {name} is {:?}, the metadata says {dtype:?}",
                view.dtype()
            ));
        }
        let finite = match dtype {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .all(|c| f32::from_le_bytes(c.try_into().unwrap()).is_finite()),
            _ => view
                .data()
                .chunks_exact(8)
                .all(|c| f64::from_le_bytes(c.try_into().unwrap()).is_finite()),
        };
        if !finite {
            return Err(format!("tensor {name} holds a NaN or infinite value"));
        }
        if never_negative(name) {
            let negative = match dtype {
                Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                    .find(|v| *v < 0.0),
                _ => view
                    .data()
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .find(|v| *v < 0.0),
            };
            if let Some(v) = negative {
                return Err(format!(
                    "tensor {name} holds {v}, and a variance or second moment is never negative"
                ));
            }
        }
        summed.push((name.as_str(), [shape.rows, shape.cols], view.data()));
    }
    let sum = checksum(meta.0.iter().map(|(k, v)| (k.as_str(), v.as_str())), summed);
    if meta.get("checksum")? != format!("{sum:016x}") {
        return Err(format!(
            "checksum {} does not match the file's metadata and tensors ({sum:016x}): the file \
             is damaged or was edited",
            meta.get("checksum")?
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The image GAN's checkpoints: the same file layout and checks, plus G's
// batch-norm running statistics `generator_running.layer{l}.running_{mean,var}`
// and D's, `discriminator_running.…` (DCGAN's D; none for the MLPs').

/// The value of the `format` metadata key in an image GAN checkpoint.
pub const IMAGE_FORMAT: &str = "minimax-image-gan-checkpoint";

/// The data set an image run trains on, as its checkpoint records it: a
/// name for messages, and the fingerprint that is compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataId {
    /// The data set's name ([`Splits::name`]: `digits`, or its folder).
    pub name: String,
    /// [`Splits::fingerprint`]: both splits' pixels, labels and class names.
    pub fingerprint: u64,
}

impl DataId {
    /// The identity of `splits`.
    pub fn of(splits: &Splits) -> DataId {
        DataId { name: splits.name.clone(), fingerprint: splits.fingerprint() }
    }
}

/// Writes an image GAN's state to `path`, as [`save`] does for the 1-D/2-D
/// trainer: G's and D's parameters, G's running statistics, both
/// optimizers' state and counters, the config, the step, the data set it
/// trains on (`data`) and a checksum.
pub fn save_image<B: Backend>(
    trainer: &ImageTrainer<B>,
    data: &DataId,
    path: &Path,
) -> Result<(), TrainError> {
    let be = trainer.backend();
    let (g_params, d_params, g_running) = trainer.stores();
    let (g_opt, d_opt) = trainer.optimizers();
    let mut file = Outgoing::default();
    file.network(be, NETS[0], g_params, g_opt)?;
    file.network(be, NETS[1], d_params, d_opt)?;
    file.store(be, RUNNING, g_running)?;
    file.store(be, D_RUNNING, trainer.d_running())?;
    if let Some(ema) = trainer.ema() {
        file.store(be, EMA, &ema.weights.params)?;
        file.store(be, EMA_RUNNING, &ema.weights.running)?;
    }
    file.meta.insert("data".into(), data.name.clone());
    file.meta.insert("data_fingerprint".into(), format!("{:016x}", data.fingerprint));
    let config = serde_json::to_string(trainer.config())
        .map_err(|e| TrainError::Checkpoint(format!("the config does not serialise: {e}")))?;
    file.write::<B>(path, IMAGE_FORMAT, trainer.step(), trainer.config().seed, config)
}

/// The prefix of G's running statistics in tensor names.
const RUNNING: &str = "generator_running";
/// The prefix of D's running statistics in tensor names.
const D_RUNNING: &str = "discriminator_running";
/// The prefix of the EMA of G's parameters in tensor names (runs with
/// `g_ema`).
const EMA: &str = "generator_ema";
/// The prefix of the EMA of G's running statistics in tensor names.
const EMA_RUNNING: &str = "generator_ema_running";

/// The config saved in an image GAN checkpoint, checked, without loading
/// anything else: to upload the training set the run needs before
/// [`load_image`].
pub fn read_image_config(path: &Path) -> Result<ImageConfig, TrainError> {
    let bad = |why: String| TrainError::Checkpoint(format!("{}: {why}", path.display()));
    let bytes = read(path)?;
    let (file, meta) = parse(&bytes).map_err(bad)?;
    Ok(check_image(&file, &meta).map_err(bad)?.0)
}

/// Rebuilds an image GAN run from a checkpoint written by [`save_image`],
/// on `backend`, training on `data` (uploaded for the checkpoint's config:
/// see [`read_image_config`]), the data set `id`. Checks everything
/// [`load`] checks first, and refuses a checkpoint of another data set.
pub fn load_image<B: Backend>(
    backend: B,
    path: &Path,
    data: ImageData<B>,
    id: &DataId,
) -> Result<ImageTrainer<B>, TrainError> {
    let bad = |why: String| TrainError::Checkpoint(format!("{}: {why}", path.display()));
    let bytes = read(path)?;
    let (file, meta) = parse(&bytes).map_err(bad)?;
    let (config, step, [(g_steps, g_counts), (d_steps, d_counts)]) =
        check_image(&file, &meta).map_err(bad)?;
    same_data(&Meta(&meta), id).map_err(bad)?;
    let mut trainer = ImageTrainer::new(backend, config, data)?;
    let be = trainer.backend().clone();
    let (g_params, d_params, g_running, g_opt, d_opt) = trainer.parts_mut();
    restore_network(&be, &file, NETS[0], g_params, g_opt, g_steps, &g_counts).map_err(bad)?;
    restore_network(&be, &file, NETS[1], d_params, d_opt, d_steps, &d_counts).map_err(bad)?;
    restore_store(&be, &file, RUNNING, g_running).map_err(bad)?;
    restore_store(&be, &file, D_RUNNING, trainer.d_running_mut()).map_err(bad)?;
    if let Some(ema) = trainer.ema_mut() {
        restore_store(&be, &file, EMA, &mut ema.weights.params).map_err(bad)?;
        restore_store(&be, &file, EMA_RUNNING, &mut ema.weights.running).map_err(bad)?;
    }
    trainer.set_step(step);
    Ok(trainer)
}

/// That the checkpoint was trained on the data set `id`.
fn same_data(meta: &Meta<'_>, id: &DataId) -> Result<(), String> {
    let saved = meta.get("data_fingerprint")?;
    if saved != format!("{:016x}", id.fingerprint) {
        return Err(format!(
            "the run was trained on {} (data fingerprint {saved}), and this data set, {}, has \
             fingerprint {:016x}: resume it on the data it was trained on",
            meta.get("data")?,
            id.name,
            id.fingerprint
        ));
    }
    Ok(())
}

/// An image checkpoint's config, step and optimizer counters, after every
/// check of [`check`].
#[allow(clippy::type_complexity)]
fn check_image(
    file: &SafeTensors<'_>,
    meta: &HashMap<String, String>,
) -> Result<(ImageConfig, u64, [(u32, Vec<u32>); 2]), String> {
    let meta = Meta(meta);
    let dtype = meta.header(IMAGE_FORMAT)?;
    let config: ImageConfig =
        serde_json::from_str(meta.get("config")?).map_err(|e| format!("its config: {e}"))?;
    config.validate().map_err(|e| format!("its config: {e}"))?;
    let step = meta.step(config.seed, config.steps)?;
    let (g, d) = minimax_gan::image::train::players(&config).map_err(|e| e.to_string())?;
    let mut expected = BTreeMap::new();
    let g_updates = meta.network(NETS[0], &g.param_specs(), config.g_optimizer, &mut expected)?;
    let d_updates = meta.network(NETS[1], &d.param_specs(), config.d_optimizer, &mut expected)?;
    for (name, shape) in g.running_specs() {
        expected.insert(format!("{RUNNING}.{name}"), shape);
    }
    for (name, shape) in d.running_specs() {
        expected.insert(format!("{D_RUNNING}.{name}"), shape);
    }
    if config.g_ema.is_some() {
        // The EMA G: G's parameters and running statistics, averaged.
        for (name, shape) in g.param_specs() {
            expected.insert(format!("{EMA}.{name}"), shape);
        }
        for (name, shape) in g.running_specs() {
            expected.insert(format!("{EMA_RUNNING}.{name}"), shape);
        }
    }
    // Each step updates G once and D d_steps times (Algorithm 1).
    let wanted = [step, step.saturating_mul(config.d_steps as u64)];
    for ((net, (steps, _)), want) in NETS.iter().zip([&g_updates, &d_updates]).zip(wanted) {
        if u64::from(*steps) != want {
            return Err(format!(
                "{net}_steps = {steps} contradicts step {step}: a step updates G once and D \
                 d_steps = {} times, so it should be {want}",
                config.d_steps
            ));
        }
    }
    check_tensors(file, &meta, &expected, dtype)?;
    Ok((config, step, [g_updates, d_updates]))
}

// ---------------------------------------------------------------------------
// One G on its own: the best G of a run (`best.safetensors`), the same layout
// and checks, G's parameters `generator.{param}` and running statistics
// `generator_running.{name}`, and no D, no optimizer.

/// The value of the `format` metadata key in a file of one G.
pub const GENERATOR_FORMAT: &str = "minimax-image-generator";
/// The file name of a run's best G inside its output folder.
pub const BEST_FILE_NAME: &str = "best.safetensors";

/// A G read back by [`load_generator`].
pub struct SavedGenerator<B: Backend> {
    /// The run's config (G's net is built from it).
    pub config: ImageConfig,
    /// G's parameters and running statistics.
    pub weights: GWeights<B>,
    /// The step it was taken at.
    pub step: u64,
    /// Whether it is the raw G or its EMA.
    pub g: GChoice,
    /// Its Fréchet distance when it was judged (`frechet_distance`), if the
    /// file records one.
    pub frechet_distance: Option<f64>,
    /// The data set it was trained on.
    pub data: DataId,
}

/// Writes one G of an image run to `path`, atomically: the weights `g`
/// (raw or EMA, as `which` says) of the run of `config` at `step`, trained
/// on `data`, judged at `frechet_distance` if given. Refuses, writing
/// nothing, if a value is not finite.
#[allow(clippy::too_many_arguments)]
pub fn save_generator<B: Backend>(
    be: &B,
    config: &ImageConfig,
    g: &GWeights<B>,
    which: GChoice,
    step: u64,
    frechet_distance: Option<f64>,
    data: &DataId,
    path: &Path,
) -> Result<(), TrainError> {
    let mut file = Outgoing::default();
    file.store(be, NETS[0], &g.params)?;
    file.store(be, RUNNING, &g.running)?;
    file.meta.insert("g".into(), which.name().into());
    if let Some(fd) = frechet_distance {
        file.meta.insert("frechet_distance".into(), fd.to_string());
    }
    file.meta.insert("data".into(), data.name.clone());
    file.meta.insert("data_fingerprint".into(), format!("{:016x}", data.fingerprint));
    let config_json = serde_json::to_string(config)
        .map_err(|e| TrainError::Checkpoint(format!("the config does not serialise: {e}")))?;
    file.write::<B>(path, GENERATOR_FORMAT, step, config.seed, config_json)
}

/// Reads the G [`save_generator`] wrote, on `be`, after the checks of
/// [`load`] that apply (framing, format and version, config, exactly G's
/// tensors with their shapes, finite values, variances never negative, the
/// checksum of metadata and tensors).
pub fn load_generator<B: Backend>(be: &B, path: &Path) -> Result<SavedGenerator<B>, TrainError> {
    let bad = |why: String| TrainError::Checkpoint(format!("{}: {why}", path.display()));
    let bytes = read(path)?;
    let (file, meta) = parse(&bytes).map_err(bad)?;
    let meta = Meta(&meta);
    let checked =
        (|| {
            let dtype = meta.header(GENERATOR_FORMAT)?;
            let config: ImageConfig = serde_json::from_str(meta.get("config")?)
                .map_err(|e| format!("its config: {e}"))?;
            config.validate().map_err(|e| format!("its config: {e}"))?;
            let step = meta.step(config.seed, config.steps)?;
            let which = match meta.get("g")? {
                "raw" => GChoice::Raw,
                "ema" => GChoice::Ema,
                other => return Err(format!("metadata g = {other:?}: expected raw or ema")),
            };
            let frechet_distance =
                match meta.0.get("frechet_distance") {
                    Some(v) => Some(v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or(
                        format!("metadata frechet_distance = {v:?} is not a finite number"),
                    )?),
                    None => None,
                };
            let fingerprint = u64::from_str_radix(meta.get("data_fingerprint")?, 16)
                .map_err(|_| "metadata data_fingerprint is not 16 hex digits".to_string())?;
            let data = DataId { name: meta.get("data")?.to_string(), fingerprint };
            let (g, _) = minimax_gan::image::train::players(&config).map_err(|e| e.to_string())?;
            let mut expected = BTreeMap::new();
            for (name, shape) in g.param_specs() {
                expected.insert(format!("{}.{name}", NETS[0]), shape);
            }
            for (name, shape) in g.running_specs() {
                expected.insert(format!("{RUNNING}.{name}"), shape);
            }
            check_tensors(&file, &meta, &expected, dtype)?;
            Ok((config, g, step, which, frechet_distance, data))
        })();
    let (config, g, step, which, frechet_distance, data) = checked.map_err(bad)?;
    let mut weights =
        GWeights { params: g.init_params(be, config.init, 0), running: g.init_running(be) };
    restore_store(be, &file, NETS[0], &mut weights.params).map_err(bad)?;
    restore_store(be, &file, RUNNING, &mut weights.running).map_err(bad)?;
    Ok(SavedGenerator { config, weights, step, g: which, frechet_distance, data })
}

// ---------------------------------------------------------------------------
// The judging classifier, cached: the same layout and checks, keyed by the
// data set's fingerprint and the classifier's config.

/// The value of the `format` metadata key in a cached classifier.
pub const CLASSIFIER_FORMAT: &str = "minimax-classifier";

/// Saves a classifier trained on the data set of fingerprint `fingerprint`
/// with `config`, and its test accuracy, to `path` (atomically).
pub fn save_classifier<B: Backend>(
    be: &B,
    classifier: &Classifier<B>,
    config: &ClassifierConfig,
    fingerprint: u64,
    test_accuracy: f64,
    path: &Path,
) -> Result<(), TrainError> {
    let mut file = Outgoing::default();
    file.store(be, "classifier", &classifier.params)?;
    file.meta.insert("fingerprint".into(), format!("{fingerprint:016x}"));
    file.meta.insert("test_accuracy".into(), test_accuracy.to_string());
    let sizes = classifier.mlp.sizes();
    file.meta.insert("sizes".into(), serde_json::to_string(&sizes).expect("numbers"));
    let config_json = serde_json::to_string(config)
        .map_err(|e| TrainError::Checkpoint(format!("the config does not serialise: {e}")))?;
    file.write::<B>(path, CLASSIFIER_FORMAT, 0, config.seed, config_json)
}

/// Loads the classifier [`save_classifier`] wrote, if it was trained on the
/// data set of fingerprint `fingerprint` with exactly `config`, for
/// `pixels` inputs and `classes` outputs; returns it and its recorded test
/// accuracy. Any mismatch or damage is an error naming what differs (the
/// caller retrains).
pub fn load_classifier<B: Backend>(
    be: &B,
    path: &Path,
    config: &ClassifierConfig,
    fingerprint: u64,
    pixels: usize,
    classes: usize,
) -> Result<(Classifier<B>, f64), TrainError> {
    let bad = |why: String| TrainError::Checkpoint(format!("{}: {why}", path.display()));
    let bytes = read(path)?;
    let (file, meta) = parse(&bytes).map_err(bad)?;
    let meta = Meta(&meta);
    let mlp = Classifier::<B>::mlp(pixels, classes, config)?;
    let accuracy = (|| {
        let dtype = meta.header(CLASSIFIER_FORMAT)?;
        let saved: ClassifierConfig =
            serde_json::from_str(meta.get("config")?).map_err(|e| format!("its config: {e}"))?;
        if &saved != config {
            return Err(format!("trained with {saved:?}, this run asks for {config:?}"));
        }
        if meta.get("fingerprint")? != format!("{fingerprint:016x}") {
            return Err(format!(
                "trained on data of fingerprint {}, this data set's is {fingerprint:016x}",
                meta.get("fingerprint")?
            ));
        }
        meta.step(config.seed, 0)?;
        let accuracy: f64 = meta
            .get("test_accuracy")?
            .parse()
            .ok()
            .filter(|a: &f64| (0.0..=1.0).contains(a))
            .ok_or("metadata test_accuracy is not a share in [0, 1]")?;
        let expected: BTreeMap<String, Shape> =
            mlp.param_specs().into_iter().map(|(n, s)| (format!("classifier.{n}"), s)).collect();
        check_tensors(&file, &meta, &expected, dtype)?;
        Ok(accuracy)
    })()
    .map_err(bad)?;
    let mut params = mlp.init_params(be, minimax_nn::Init::TorchDefault, 0);
    restore_store(be, &file, "classifier", &mut params).map_err(bad)?;
    Ok((Classifier { mlp, params }, accuracy))
}

/// [`RunHooks`] that save a checkpoint to one path (replaced atomically
/// each time) and pass progress reports to a closure: what
/// [`Trainer::run_with`] needs to keep a resumable run on disk.
pub struct Checkpointing<F> {
    path: PathBuf,
    on_progress: F,
}

impl<F> Checkpointing<F> {
    /// Saves to `path`; progress goes to `on_progress`.
    pub fn new(path: impl Into<PathBuf>, on_progress: F) -> Self {
        Checkpointing { path: path.into(), on_progress }
    }
}

impl<B: Backend, F: FnMut(&Progress)> RunHooks<Trainer<B>> for Checkpointing<F> {
    fn progress(&mut self, p: &Progress) {
        (self.on_progress)(p)
    }

    fn save(&mut self, trainer: &Trainer<B>) -> Result<Option<PathBuf>, TrainError> {
        save(trainer, &self.path)?;
        Ok(Some(self.path.clone()))
    }
}
