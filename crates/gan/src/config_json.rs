//! [`Config`] to and from JSON, so a config can ride in a checkpoint's
//! metadata and in `summary.json` (written with the crate's own small
//! [`crate::json`], no serde).

use crate::config::{
    Config, DInput, DiscriminatorConfig, GOutput, GeneratorConfig, Latent, LrDecay,
};
use crate::data::{DataKind, Target};
use crate::json::JsonValue;
use crate::optim::OptimizerConfig;
use std::fmt;
use std::str::FromStr;

impl Config {
    /// The config as a JSON object (the seed as a string: JSON numbers are
    /// `f64` and cannot hold every `u64`).
    pub fn to_json(&self) -> JsonValue {
        let g = &self.generator;
        let d = &self.discriminator;
        obj(vec![
            ("preset", string(self.preset)),
            ("seed", string(self.seed)),
            ("steps", num(self.steps as f64)),
            ("batch", num(self.batch as f64)),
            ("loss", string(self.loss)),
            ("d_steps", num(self.d_steps as f64)),
            ("g_steps", num(self.g_steps as f64)),
            ("target", target_json(&self.target)),
            (
                "generator",
                obj(vec![
                    ("latent", latent_json(g.latent)),
                    ("latent_dim", num(g.latent_dim as f64)),
                    ("hidden", nums(&g.hidden)),
                    ("activation", string(g.activation)),
                    (
                        "output",
                        string(match g.output {
                            GOutput::Linear => "linear",
                            GOutput::Tanh => "tanh",
                        }),
                    ),
                ]),
            ),
            (
                "discriminator",
                obj(vec![
                    (
                        "input",
                        string(match d.input {
                            DInput::Samples => "samples",
                            DInput::Moments => "moments",
                        }),
                    ),
                    ("hidden", nums(&d.hidden)),
                    ("activation", string(d.activation)),
                    ("dropout", num(d.dropout)),
                    ("pack", num(d.pack as f64)),
                ]),
            ),
            ("init", string(self.init)),
            ("g_optimizer", optimizer_json(self.g_optimizer)),
            ("d_optimizer", optimizer_json(self.d_optimizer)),
            ("real_label", num(self.real_label)),
            ("label_noise", num(self.label_noise)),
            ("clip", num(self.clip)),
            (
                "lr_decay",
                match self.lr_decay {
                    None => JsonValue::Null,
                    Some(d) => obj(vec![("start", num(d.start)), ("to", num(d.to))]),
                },
            ),
        ])
    }

    /// Reads what [`Config::to_json`] wrote; the error names the field.
    pub fn from_json(v: &JsonValue) -> Result<Config, String> {
        let g = field(v, "generator")?;
        let d = field(v, "discriminator")?;
        let config = Config {
            preset: parse(v, "preset")?,
            seed: parse(v, "seed")?,
            steps: count(v, "steps")? as u64,
            batch: count(v, "batch")?,
            loss: parse(v, "loss")?,
            d_steps: count(v, "d_steps")?,
            g_steps: count(v, "g_steps")?,
            target: target_from_json(field(v, "target")?)?,
            generator: GeneratorConfig {
                latent: latent_from_json(field(g, "latent")?)?,
                latent_dim: count(g, "latent_dim")?,
                hidden: counts(g, "hidden")?,
                activation: parse(g, "activation")?,
                output: match text(g, "output")? {
                    "linear" => GOutput::Linear,
                    "tanh" => GOutput::Tanh,
                    other => {
                        return Err(format!("generator output {other:?}: expected linear or tanh"))
                    }
                },
            },
            discriminator: DiscriminatorConfig {
                input: match text(d, "input")? {
                    "samples" => DInput::Samples,
                    "moments" => DInput::Moments,
                    other => {
                        return Err(format!(
                            "discriminator input {other:?}: expected samples or moments"
                        ))
                    }
                },
                hidden: counts(d, "hidden")?,
                activation: parse(d, "activation")?,
                dropout: number(d, "dropout")?,
                // Absent in checkpoints written before there was packing.
                pack: if d.get("pack").is_some() { count(d, "pack")? } else { 1 },
            },
            init: parse(v, "init")?,
            g_optimizer: optimizer_from_json(field(v, "g_optimizer")?)?,
            d_optimizer: optimizer_from_json(field(v, "d_optimizer")?)?,
            real_label: number(v, "real_label")?,
            label_noise: number(v, "label_noise")?,
            clip: number(v, "clip")?,
            // Absent in checkpoints written before there was a decay.
            lr_decay: match v.get("lr_decay") {
                None | Some(JsonValue::Null) => None,
                Some(d) => Some(LrDecay { start: number(d, "start")?, to: number(d, "to")? }),
            },
        };
        config.validate()?;
        Ok(config)
    }
}

// --- helpers ----------------------------------------------------------------

fn obj(pairs: Vec<(&str, JsonValue)>) -> JsonValue {
    JsonValue::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn num(x: f64) -> JsonValue {
    JsonValue::Number(x)
}

fn nums(xs: &[usize]) -> JsonValue {
    JsonValue::Array(xs.iter().map(|&x| num(x as f64)).collect())
}

fn string(x: impl fmt::Display) -> JsonValue {
    JsonValue::String(x.to_string())
}

/// `{"kind": "ring", "modes": 8, "radius": 2, "mean": 0, "std": 0.02}`.
fn target_json(t: &Target) -> JsonValue {
    let mut pairs = vec![("kind", string(t.name()))];
    match t.kind {
        DataKind::Ring { modes, radius } => {
            pairs.extend([("modes", num(modes as f64)), ("radius", num(radius))]);
        }
        DataKind::Grid { side, spacing } => {
            pairs.extend([("side", num(side as f64)), ("spacing", num(spacing))]);
        }
        DataKind::Gaussian | DataKind::Moons | DataKind::Spiral => {}
    }
    pairs.extend([("mean", num(t.mean)), ("std", num(t.std))]);
    obj(pairs)
}

/// Reads what [`target_json`] wrote. A target without `kind` is the 1-D
/// Gaussian (checkpoints written before there were other kinds).
fn target_from_json(v: &JsonValue) -> Result<Target, String> {
    let kind = match v.get("kind").map(|_| text(v, "kind")).transpose()? {
        None | Some("gaussian") => DataKind::Gaussian,
        Some("ring") => DataKind::Ring { modes: count(v, "modes")?, radius: number(v, "radius")? },
        Some("grid") => DataKind::Grid { side: count(v, "side")?, spacing: number(v, "spacing")? },
        Some("moons") => DataKind::Moons,
        Some("spiral") => DataKind::Spiral,
        Some(other) => {
            let names = crate::data::NAMES.join(", ");
            return Err(format!("target kind {other:?}: expected one of {names}"));
        }
    };
    Ok(Target { kind, mean: number(v, "mean")?, std: number(v, "std")? })
}

fn latent_json(latent: Latent) -> JsonValue {
    match latent {
        Latent::Gaussian => obj(vec![("dist", string("gaussian"))]),
        Latent::Uniform { lo, hi } => {
            obj(vec![("dist", string("uniform")), ("lo", num(lo)), ("hi", num(hi))])
        }
    }
}

fn latent_from_json(v: &JsonValue) -> Result<Latent, String> {
    match text(v, "dist")? {
        "gaussian" => Ok(Latent::Gaussian),
        "uniform" => Ok(Latent::Uniform { lo: number(v, "lo")?, hi: number(v, "hi")? }),
        other => Err(format!("latent dist {other:?}: expected gaussian or uniform")),
    }
}

fn optimizer_json(opt: OptimizerConfig) -> JsonValue {
    match opt {
        OptimizerConfig::Sgd { lr, momentum } => {
            obj(vec![("kind", string("sgd")), ("lr", num(lr)), ("momentum", num(momentum))])
        }
        OptimizerConfig::Adam { lr, beta1, beta2, eps } => obj(vec![
            ("kind", string("adam")),
            ("lr", num(lr)),
            ("beta1", num(beta1)),
            ("beta2", num(beta2)),
            ("eps", num(eps)),
        ]),
    }
}

fn optimizer_from_json(v: &JsonValue) -> Result<OptimizerConfig, String> {
    match text(v, "kind")? {
        "sgd" => {
            Ok(OptimizerConfig::Sgd { lr: number(v, "lr")?, momentum: number(v, "momentum")? })
        }
        "adam" => Ok(OptimizerConfig::Adam {
            lr: number(v, "lr")?,
            beta1: number(v, "beta1")?,
            beta2: number(v, "beta2")?,
            eps: number(v, "eps")?,
        }),
        other => Err(format!("optimizer kind {other:?}: expected sgd or adam")),
    }
}

fn field<'a>(v: &'a JsonValue, key: &str) -> Result<&'a JsonValue, String> {
    v.get(key).ok_or_else(|| format!("config: missing field {key:?}"))
}

fn number(v: &JsonValue, key: &str) -> Result<f64, String> {
    field(v, key)?.as_f64().ok_or_else(|| format!("config: field {key:?} is not a number"))
}

fn count(v: &JsonValue, key: &str) -> Result<usize, String> {
    let x = number(v, key)?;
    if x >= 0.0 && x.fract() == 0.0 && x < 9e15 {
        Ok(x as usize)
    } else {
        Err(format!("config: field {key:?} is not a whole number: {x}"))
    }
}

fn counts(v: &JsonValue, key: &str) -> Result<Vec<usize>, String> {
    let items = field(v, key)?
        .as_array()
        .ok_or_else(|| format!("config: field {key:?} is not an array"))?;
    items
        .iter()
        .map(|x| match x.as_f64() {
            Some(n) if n >= 1.0 && n.fract() == 0.0 => Ok(n as usize),
            _ => {
                Err(format!("config: field {key:?} holds something other than a positive integer"))
            }
        })
        .collect()
}

fn text<'a>(v: &'a JsonValue, key: &str) -> Result<&'a str, String> {
    field(v, key)?.as_str().ok_or_else(|| format!("config: field {key:?} is not a string"))
}

fn parse<T: FromStr>(v: &JsonValue, key: &str) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    text(v, key)?.parse().map_err(|e| format!("config: field {key:?}: {e}"))
}
