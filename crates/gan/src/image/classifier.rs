//! [`Classifier`]: an MLP the engine trains to tell the data set's classes
//! apart (softmax cross-entropy, Adam), which then judges G: which classes
//! G's images look like, how sure it is, and how far G's images are from
//! real ones in its last hidden layer's features (see [`crate::judge`] and
//! [`crate::frechet`]).

use crate::error::TrainError;
use crate::image::data::shuffled;
use crate::image::pixels::ImageRows;
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{Backend, Real, Shape, Tape};
use minimax_nn::{
    Activation, Context, Init, Mlp, Optimizer, OptimizerConfig, ParamStore, Sequential,
};

/// How a classifier is shaped and trained.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierConfig {
    /// Hidden widths (ReLU); the last is the feature dimension.
    pub hidden: Vec<usize>,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per minibatch.
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Initial parameters and the order of minibatches.
    pub seed: u64,
}

impl ClassifierConfig {
    /// A size that reaches about 97% on 8×8 digits (64 pixels) and 88% on
    /// Fashion-MNIST (784 pixels) within seconds on a CPU.
    pub fn for_pixels(pixels: usize) -> ClassifierConfig {
        if pixels <= 64 {
            ClassifierConfig { hidden: vec![128, 64], epochs: 60, batch: 32, lr: 1e-3, seed: 1 }
        } else {
            ClassifierConfig { hidden: vec![256, 128], epochs: 5, batch: 64, lr: 1e-3, seed: 1 }
        }
    }
}

/// What a classifier says of some images.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// `[n, classes]` softmax probabilities, row-major.
    pub probs: Vec<f64>,
    /// `[n, feature_dim]` last hidden layer activations, row-major.
    pub features: Vec<f64>,
    /// Columns of `features`.
    pub feature_dim: usize,
    /// The most probable class of each image.
    pub predicted: Vec<usize>,
}

/// A trained classifier: its shape and parameters.
pub struct Classifier<B: Backend> {
    /// `pixels → hidden… → classes`.
    pub mlp: Sequential,
    /// Its parameters.
    pub params: ParamStore<B>,
}

impl<B: Backend> Classifier<B> {
    /// The network for `pixels` inputs and `classes` outputs.
    pub fn mlp(
        pixels: usize,
        classes: usize,
        config: &ClassifierConfig,
    ) -> Result<Sequential, TrainError> {
        let mut sizes = vec![pixels];
        sizes.extend(&config.hidden);
        sizes.push(classes);
        let mut acts = vec![Activation::Relu; config.hidden.len()];
        acts.push(Activation::Identity);
        Ok(Mlp::new(&sizes, &acts)?.build())
    }

    /// Trains a classifier on `images` (`[n, pixels]`, in [-1, 1]: bytes
    /// or `f32`, see [`ImageRows`]) and their `labels`: each minibatch, from
    /// a seeded shuffle, is made on the host and uploaded.
    pub fn train(
        backend: &B,
        pixels: usize,
        classes: usize,
        images: &(impl ImageRows + ?Sized),
        labels: &[u8],
        config: &ClassifierConfig,
    ) -> Result<Classifier<B>, TrainError> {
        let n = labels.len();
        if images.values() != n * pixels {
            let v = images.values();
            return Err(TrainError::Config(format!(
                "Classifier::train: {v} pixel values for {n} labels of images of {pixels} pixels"
            )));
        }
        let mlp = Self::mlp(pixels, classes, config)?;
        let mut params =
            mlp.init_params(backend, Init::TorchDefault, derive_seed(&[config.seed, 0]));
        let adam = OptimizerConfig::adam(config.lr, 0.9, 0.999, 1e-8);
        let mut opt = Optimizer::new(backend, adam, &params);
        let mut x = Vec::with_capacity(config.batch * pixels);
        for epoch in 0..config.epochs as u64 {
            let order = shuffled(n, derive_seed(&[config.seed, 1, epoch]));
            for rows in order.chunks_exact(config.batch) {
                let tape = Tape::new(backend.clone());
                let y: Vec<u32> = rows.iter().map(|&r| labels[r as usize] as u32).collect();
                let y = backend.upload_indices(&y)?;
                x.clear();
                for &r in rows {
                    let r = r as usize;
                    images.extend_values(r * pixels..(r + 1) * pixels, &mut x);
                }
                let x = tape.constant(backend.upload(Shape::new(rows.len(), pixels), &x)?); // [batch, pixels]
                let vars = params.on_tape(&tape);
                let loss = mlp.forward(&vars, &x)?.cross_entropy(&y)?; // [1, 1]
                let grads = tape.backward(&loss)?;
                opt.step(backend, &mut params, &vars, &grads)?;
            }
            backend.flush()?;
        }
        Ok(Classifier { mlp, params })
    }

    /// Probabilities, features and predicted classes for `images`
    /// (`[n, pixels]` row-major, bytes or `f32`: see [`ImageRows`]),
    /// computed in chunks.
    pub fn predict(
        &self,
        backend: &B,
        images: &(impl ImageRows + ?Sized),
    ) -> Result<Prediction, TrainError> {
        let sizes = self.mlp.sizes(); // [pixels, hidden…, classes]
        let (pixels, classes) = (sizes[0], sizes[sizes.len() - 1]);
        let n = images.values() / pixels;
        let (feature_dim, blocks) = (sizes[sizes.len() - 2], self.mlp.blocks());
        let mut out = Prediction {
            probs: Vec::new(),
            features: Vec::new(),
            feature_dim,
            predicted: Vec::new(),
        };
        const CHUNK: usize = 1000;
        for start in (0..n).step_by(CHUNK) {
            let m = CHUNK.min(n - start);
            let tape = Tape::new(backend.clone());
            let vars = self.params.constants(&tape);
            let mut x = Vec::with_capacity(m * pixels);
            images.extend_values(start * pixels..(start + m) * pixels, &mut x);
            let x = tape.constant(backend.upload(Shape::new(m, pixels), &x)?); // [m, pixels]

            // The hidden layers give the features [m, feature_dim]; the
            // last layer (affine, no activation) on them gives the logits
            // [m, classes], so the hidden layers run once for both.
            let (hidden, last) = (0..blocks - 1, blocks - 1..blocks);
            let features = self.mlp.forward_blocks(&vars, &x, Context::new(), hidden)?;
            let logits = self.mlp.forward_blocks(&vars, &features, Context::new(), last)?;
            let probs = logits.softmax_rows()?;
            let host = |v: &minimax_autodiff::Var<B>| -> Result<Vec<f64>, TrainError> {
                Ok(v.to_vec()?.into_iter().map(Real::to_f64).collect())
            };
            let p = host(&probs)?;
            out.predicted.extend(p.chunks(classes).map(|row| {
                row.iter().enumerate().fold(0, |best, (c, &v)| if v > row[best] { c } else { best })
            }));
            out.probs.extend(p);
            out.features.extend(host(&features)?);
        }
        Ok(out)
    }

    /// The share of `images` whose predicted class is their label.
    pub fn accuracy(
        &self,
        backend: &B,
        images: &(impl ImageRows + ?Sized),
        labels: &[u8],
    ) -> Result<f64, TrainError> {
        let p = self.predict(backend, images)?;
        let right = p.predicted.iter().zip(labels).filter(|(&a, &b)| a == b as usize).count();
        Ok(right as f64 / labels.len().max(1) as f64)
    }
}
