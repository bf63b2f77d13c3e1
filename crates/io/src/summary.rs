//! `summary.json`: what a run reports, typed (numbers are numbers), with
//! only the fields that apply, and a verdict saying whether the run met its
//! goal and by which measure.

use crate::fsutil;
use minimax_gan::PerStep;
use serde::Serialize;
use std::path::Path;

/// Whether a run met its goal, and by which measure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The goal was met.
    pub passed: bool,
    /// The measure, such as `"js_divergence"`.
    pub measure: String,
    /// Its value in this run.
    pub value: f64,
    /// The goal in words, such as `"js_divergence < 0.05"`.
    pub goal: String,
}

impl Verdict {
    /// A verdict for "`measure` below `limit`".
    pub fn below(measure: &str, value: f64, limit: f64) -> Verdict {
        Verdict {
            passed: value < limit,
            measure: measure.to_string(),
            value,
            goal: format!("{measure} < {limit}"),
        }
    }

    /// A verdict for "`measure` at least `limit`".
    pub fn at_least(measure: &str, value: f64, limit: f64) -> Verdict {
        Verdict {
            passed: value >= limit,
            measure: measure.to_string(),
            value,
            goal: format!("{measure} >= {limit}"),
        }
    }
}

/// Device work per training step, as `summary.json` names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceWork {
    /// Compute dispatches per step.
    pub dispatches_per_step: f64,
    /// Queue submissions per step.
    pub submits_per_step: f64,
    /// Bytes read back to the host per step.
    pub readback_bytes_per_step: f64,
}

impl From<PerStep> for DeviceWork {
    fn from(p: PerStep) -> Self {
        DeviceWork {
            dispatches_per_step: p.dispatches,
            submits_per_step: p.submits,
            readback_bytes_per_step: p.readback_bytes,
        }
    }
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub fn write_json(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    text.push('\n');
    fsutil::write_atomic(path, text.as_bytes())
}
