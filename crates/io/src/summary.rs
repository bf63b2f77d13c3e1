//! `summary.json`: what a run reports, typed (numbers are numbers), with
//! only the fields that apply, and a verdict saying whether the run met its
//! goal and by which measure.

use crate::fsutil;
use minimax_gan::config::DInput;
use minimax_gan::{Config, GanLoss, PerStep};
use serde::Serialize;
use std::path::Path;

/// One measure of a run against its goal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// The goal was met.
    pub passed: bool,
    /// The measure, such as `"js_divergence"`.
    pub measure: String,
    /// Its value in this run.
    pub value: f64,
    /// The goal in words, such as `"js_divergence < 0.05"`.
    pub goal: String,
}

impl Check {
    /// "`measure` below `limit`".
    pub fn below(measure: &str, value: f64, limit: f64) -> Check {
        Check {
            passed: value < limit,
            measure: measure.to_string(),
            value,
            goal: format!("{measure} < {limit}"),
        }
    }

    /// "`measure` at least `limit`".
    pub fn at_least(measure: &str, value: f64, limit: f64) -> Check {
        Check {
            passed: value >= limit,
            measure: measure.to_string(),
            value,
            goal: format!("{measure} >= {limit}"),
        }
    }

    /// "`measure` within `tolerance` of `target`".
    pub fn within(measure: &str, value: f64, target: f64, tolerance: f64) -> Check {
        Check {
            passed: (value - target).abs() <= tolerance,
            measure: measure.to_string(),
            value,
            goal: format!("|{measure} - {target}| <= {tolerance}"),
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = if self.passed { "met" } else { "NOT met" };
        write!(f, "{} = {:.4}: goal {} {mark}", self.measure, self.value, self.goal)
    }
}

/// Whether a run met its goal, and by which measures: met when every
/// check is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// Every check passed.
    pub passed: bool,
    /// The measures and their goals.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// The verdict of `checks`: passed when all of them are (and there is
    /// at least one).
    pub fn all(checks: Vec<Check>) -> Verdict {
        Verdict { passed: !checks.is_empty() && checks.iter().all(|c| c.passed), checks }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head = if self.passed { "goal met" } else { "goal NOT met" };
        write!(f, "verdict: {head}")?;
        for c in &self.checks {
            write!(f, "\n  {c}")?;
        }
        Ok(())
    }
}

/// Device work per training step, as `summary.json` names it: each count
/// of [`PerStep`] under its name with `_per_step` added
/// (`dispatches_per_step`, `bind_groups_per_step`, …), for the run's steady
/// state (every step after the first [`minimax_gan::run::WARMUP_STEPS`];
/// see [`minimax_gan::RunStats::device_work`]).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct DeviceWork(pub PerStep);

impl From<PerStep> for DeviceWork {
    fn from(p: PerStep) -> Self {
        DeviceWork(p)
    }
}

impl Serialize for DeviceWork {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let fields = self.0.fields();
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for (name, value) in fields {
            map.serialize_entry(&format!("{name}_per_step"), &value)?;
        }
        map.end()
    }
}

impl std::fmt::Display for DeviceWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.0;
        write!(
            f,
            "per step: {:.1} dispatches in {:.2} passes, {:.2} bind groups created, {:.2} copies, \
             {:.2} submits, {:.1} bytes read back",
            p.dispatches, p.passes, p.bind_groups, p.copies, p.submits, p.readback_bytes
        )
    }
}

/// A config as JSON with only the options that apply to its run: no
/// `clip` unless the game is Wasserstein, no label smoothing or label noise
/// for the critic (which has no labels), no `pack` for a D that sees
/// moments, no `lr_decay` when the rates are constant.
pub fn config_json(c: &Config) -> serde_json::Value {
    let mut v = serde_json::to_value(c).expect("a config serialises");
    let obj = v.as_object_mut().expect("a config is an object");
    if c.loss != GanLoss::Wasserstein {
        obj.remove("clip");
    } else {
        obj.remove("real_label");
        obj.remove("label_noise");
    }
    if c.lr_decay.is_none() {
        obj.remove("lr_decay");
    }
    if c.discriminator.input == DInput::Moments {
        if let Some(d) = obj.get_mut("discriminator").and_then(|d| d.as_object_mut()) {
            d.remove("pack");
        }
    }
    v
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub fn write_json(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    text.push('\n');
    fsutil::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use minimax_gan::Preset;

    #[test]
    fn a_verdict_passes_only_when_every_check_does() {
        let good = Check::below("js_divergence", 0.01, 0.05);
        let bad = Check::within("generated_mean", 4.5, 4.0, 0.1);
        assert!(good.passed && !bad.passed);
        assert!(Verdict::all(vec![good.clone()]).passed);
        assert!(!Verdict::all(vec![good, bad]).passed);
        assert!(!Verdict::all(vec![]).passed);
    }

    #[test]
    fn device_work_names_every_count_per_step() {
        let total =
            minimax_gan::DeviceCounters { dispatches: 84, submits: 2, ..Default::default() };
        let work = DeviceWork(PerStep::new(total, 2).unwrap());
        let v = serde_json::to_value(work).unwrap();
        assert_eq!(v["dispatches_per_step"], serde_json::json!(42.0));
        assert_eq!(v["submits_per_step"], serde_json::json!(1.0));
        assert_eq!(v["bind_groups_per_step"], serde_json::json!(0.0));
        assert_eq!(v.as_object().unwrap().len(), 11);
    }

    #[test]
    fn config_json_keeps_only_what_applies() {
        let mut c = Config::preset(Preset::Default);
        let v = config_json(&c);
        assert!(v.get("clip").is_none() && v.get("lr_decay").is_none());
        assert_eq!(v["seed"], serde_json::json!(0), "numbers stay numbers");
        c.loss = GanLoss::Wasserstein;
        let v = config_json(&c);
        assert_eq!(v["clip"], serde_json::json!(0.01));
        assert!(v.get("real_label").is_none());
        let v = config_json(&Config::preset(Preset::Devnag));
        assert!(v["discriminator"].get("pack").is_none());
        assert!(config_json(&Config::preset(Preset::TwoD)).get("lr_decay").is_some());
    }
}
