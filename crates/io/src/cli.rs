//! The examples' command-line flags, shared, with clap's derive.
//!
//! Each example declares its own flags in a small `#[derive(Parser)]`
//! struct and `#[command(flatten)]`s the ones here, so its file opens on the
//! idea, not on flag plumbing:
//!
//! - [`RunArgs`]: `--device`, `--seed`, `--steps`, `--out`;
//! - [`GameArgs`]: `--loss`, `--k`, `--batch`, `--lr`, `--g-lr`, `--d-lr`,
//!   each overriding the preset's value when given.
//!
//! clap prints `--help` with typed value names and defaults, and answers a
//! bad flag with one line naming the flag and what it accepts, exit code 2.
//! [`parse_with_presets`] adds the presets' values to `--help`, and
//! [`usage_error`] reports the examples' own checks the same way.
//!
//! A run writes into its own folder, `out/<example>/<run name>/`, named by
//! [`run_name`] from what sets it apart (preset, data set, changed options,
//! seed), so two different runs never overwrite each other; `--out DIR`
//! writes exactly into `DIR`. [`open_run_dir`] creates the folder and checks
//! that it is writable before any training starts.

use crate::fsutil;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use minimax_autodiff::Backend;
use minimax_gan::image::ImageTrainer;
use minimax_gan::{Config, GanLoss, Preset, Progress, RunHooks, TrainError, Trainer};
use minimax_nn::LrDecay;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Where the examples write when `--out` is not given.
pub const OUT_ROOT: &str = "out";

/// The backend to train on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The reference CPU backend (f32)
    Cpu,
    /// WGSL kernels through wgpu (needs the `gpu` feature, on by default)
    Gpu,
}

/// The game G and D play (see `minimax_gan::loss`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Loss {
    /// The paper's game as written: G minimises ln(1 - D(G(z))); saturates
    Minimax,
    /// G maximises ln D(G(z)) instead: the paper's fix
    NonSaturating,
    /// LSGAN: squared errors on D's output
    LeastSquares,
    /// WGAN: D is a critic with clipped weights
    Wasserstein,
}

impl From<Loss> for GanLoss {
    fn from(l: Loss) -> GanLoss {
        match l {
            Loss::Minimax => GanLoss::Minimax,
            Loss::NonSaturating => GanLoss::NonSaturating,
            Loss::LeastSquares => GanLoss::LeastSquares,
            Loss::Wasserstein => GanLoss::Wasserstein,
        }
    }
}

/// A learning-rate decay `START,TO` (see [`LrDecay`]): `0.5,0.02` keeps the
/// rates until half-way, then lowers them linearly to 2% at the last step.
pub fn parse_lr_decay(s: &str) -> Result<LrDecay, String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [start, to] = parts[..] else {
        return Err(format!("expected START,TO (two numbers, e.g. 0.5,0.02), got {s:?}"));
    };
    let number = |x: &str| x.trim().parse::<f64>().map_err(|_| format!("{x:?} is not a number"));
    let decay = LrDecay { start: number(start)?, to: number(to)? };
    decay.validate()?;
    Ok(decay)
}

/// A positive, finite number, such as a learning rate or a std.
pub fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err("expected a positive number".into()),
    }
}

/// A finite number, such as a mean.
pub fn finite(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err("expected a finite number".into()),
    }
}

/// A folder name that is not empty (`--out ""` would write into the
/// current directory by accident).
pub fn folder(s: &str) -> Result<PathBuf, String> {
    if s.trim().is_empty() {
        Err("expected a folder name, got an empty one".into())
    } else {
        Ok(PathBuf::from(s))
    }
}

/// A whole number in `range`, or an error saying the range (clap puts the
/// flag before it, and exits with code 2).
fn whole_in(s: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number in {}..={}", range.start(), range.end())),
    }
}

/// The most training steps a run may ask for (and the longest interval
/// between logs or saves): a run keeps a few numbers per step for its
/// curves, and ten million steps are weeks of CPU time at the presets'
/// sizes.
pub const MAX_STEPS: u64 = 10_000_000;

/// The largest batch: 65,536 images of 28×28 are 205 MB of `f32` in each
/// of the step's batch-sized tensors.
pub const MAX_BATCH: usize = 65_536;

/// The most D-steps per training step (`--k`), as image configs allow.
pub const MAX_K: usize = minimax_gan::image::config::MAX_D_STEPS;

/// Training steps, `1..=MAX_STEPS`.
pub fn step_count(s: &str) -> Result<u64, String> {
    whole_in(s, 1..=MAX_STEPS)
}

/// Steps between two events, `1..=MAX_STEPS` (`--log-every`).
pub fn step_interval(s: &str) -> Result<u64, String> {
    whole_in(s, 1..=MAX_STEPS)
}

/// Steps between two events where 0 means never, or a number of steps
/// that may be none, `0..=MAX_STEPS` (`--save-every`, `--d-head-start`).
pub fn steps_or_zero(s: &str) -> Result<u64, String> {
    whole_in(s, 0..=MAX_STEPS)
}

/// Samples per batch, `1..=MAX_BATCH`.
pub fn batch_size(s: &str) -> Result<usize, String> {
    whole_in(s, 1..=MAX_BATCH as u64).map(|n| n as usize)
}

/// D-steps per training step, `1..=MAX_K`.
pub fn d_steps(s: &str) -> Result<usize, String> {
    whole_in(s, 1..=MAX_K as u64).map(|n| n as usize)
}

/// The most samples a judge may be asked to draw: 100,000 images of 28×28
/// are 314 MB of f32, and the judges' figures settle long before.
pub const MAX_SAMPLES: usize = 100_000;

/// A number of samples to judge, in `2..=MAX_SAMPLES` (a Fréchet distance
/// fits a covariance, so it needs two), checked when the flag is parsed so
/// a run never trains first and fails to allocate after.
pub fn sample_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (2..=MAX_SAMPLES).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number in 2..={MAX_SAMPLES}")),
    }
}

/// The decay β of an EMA of G's weights (`--g-ema`), in `[0, 1)`: 0.999
/// averages over about the last 1,000 steps.
pub fn ema_decay(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..1.0).contains(&x) => Ok(x),
        _ => Err("expected a number in [0, 1), such as 0.999".into()),
    }
}

/// The most steps between two judgements (`--judge-every`).
pub const MAX_JUDGE_EVERY: u64 = 1_000_000_000;

/// A number of steps between judgements, in `1..=MAX_JUDGE_EVERY`.
pub fn judge_every(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if (1..=MAX_JUDGE_EVERY).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number of steps in 1..={MAX_JUDGE_EVERY}")),
    }
}

/// A number of samples to export (`--export-samples`), in
/// `1..=MAX_SAMPLES`.
pub fn export_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_SAMPLES).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number in 1..={MAX_SAMPLES}")),
    }
}

/// Where and how long a run trains, and where it writes.
#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct RunArgs {
    /// The backend to train on
    #[arg(long, value_enum, value_name = "DEVICE", default_value_t = Device::Cpu)]
    pub device: Device,
    /// Run seed: every random number derives from it [default: the preset's, 0]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Training steps in all [default: the preset's]
    #[arg(long, value_name = "N", value_parser = step_count, allow_negative_numbers = true)]
    pub steps: Option<u64>,
    /// Write the run's files exactly into DIR [default: out/EXAMPLE/RUN_NAME/]
    #[arg(long, value_name = "DIR", value_parser = folder)]
    pub out: Option<PathBuf>,
    /// Steps between progress lines (and divergence checks)
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = step_interval, allow_negative_numbers = true)]
    pub log_every: u64,
}

/// The game and its optimizers: each flag, when given, overrides the
/// preset's value.
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
pub struct GameArgs {
    /// The game [default: the preset's, non-saturating]
    #[arg(long, value_enum, value_name = "LOSS")]
    pub loss: Option<Loss>,
    /// D-steps per training step, the paper's k [default: the preset's]
    #[arg(long, value_name = "K", value_parser = d_steps, allow_negative_numbers = true)]
    pub k: Option<usize>,
    /// Samples per batch [default: the preset's]
    #[arg(long, value_name = "N", value_parser = batch_size, allow_negative_numbers = true)]
    pub batch: Option<usize>,
    /// Learning rate of both optimizers [default: the preset's]
    #[arg(long, value_name = "RATE", value_parser = positive, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// G's learning rate (overrides --lr for G) [default: the preset's]
    #[arg(long, value_name = "RATE", value_parser = positive, allow_negative_numbers = true)]
    pub g_lr: Option<f64>,
    /// D's learning rate (overrides --lr for D) [default: the preset's]
    #[arg(long, value_name = "RATE", value_parser = positive, allow_negative_numbers = true)]
    pub d_lr: Option<f64>,
}

impl GameArgs {
    /// Writes the given flags into `c`.
    pub fn apply(&self, c: &mut Config) {
        if let Some(loss) = self.loss {
            c.loss = loss.into();
        }
        c.d_steps = self.k.unwrap_or(c.d_steps);
        c.batch = self.batch.unwrap_or(c.batch);
        if let Some(lr) = self.g_lr.or(self.lr) {
            c.g_optimizer = c.g_optimizer.with_lr(lr);
        }
        if let Some(lr) = self.d_lr.or(self.lr) {
            c.d_optimizer = c.d_optimizer.with_lr(lr);
        }
    }

    /// The flags given, as `(flag, value)`: for the run's name, and to
    /// refuse them where they cannot apply (a resumed run).
    pub fn given(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(l) = self.loss {
            out.push(("loss", GanLoss::from(l).name().to_string()));
        }
        let numbers = [
            ("k", self.k.map(|x| x.to_string())),
            ("batch", self.batch.map(|x| x.to_string())),
            ("lr", self.lr.map(|x| x.to_string())),
            ("g-lr", self.g_lr.map(|x| x.to_string())),
            ("d-lr", self.d_lr.map(|x| x.to_string())),
        ];
        out.extend(numbers.into_iter().filter_map(|(k, v)| Some((k, v?))));
        out
    }
}

/// A run's name from its parts: the preset, then each `(flag, value)` that
/// sets it apart (`k5`, `lr0.001`; a loss by its name), then the seed.
///
/// ```
/// use minimax_io::cli::run_name;
/// let parts = [("data", "ring".to_string()), ("loss", "wasserstein".into()), ("k", "5".into())];
/// assert_eq!(run_name("2d", &parts, 3), "2d-ring-wasserstein-k5-seed3");
/// ```
pub fn run_name(preset: &str, parts: &[(&str, String)], seed: u64) -> String {
    let mut name = vec![preset.to_string()];
    for (flag, value) in parts {
        // A choice reads as its value; a number needs its flag's name.
        let word = match *flag {
            "loss" | "data" => value.clone(),
            _ => format!("{}{value}", flag.replace('-', "")),
        };
        name.push(word);
    }
    name.push(format!("seed{seed}"));
    let name = name.join("-");
    // Only characters every file system takes.
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' })
        .collect()
}

/// The folder a run writes into: `out` exactly when given, else
/// `out/<example>/<name>/`.
pub fn run_dir(example: &str, name: &str, out: Option<&Path>) -> PathBuf {
    match out {
        Some(dir) => dir.to_path_buf(),
        None => Path::new(OUT_ROOT).join(example).join(name),
    }
}

/// Creates `dir` and checks that a file can be written in it, before any
/// training: a run that cannot save its results should not start. The
/// error says what failed and what to do.
pub fn open_run_dir(dir: &Path) -> Result<(), String> {
    let advice = "choose another folder with --out DIR";
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the output folder {}: {e}; {advice}", dir.display()))?;
    let probe = dir.join(".minimax-write-test");
    fsutil::write_atomic(&probe, b"ok")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| format!("cannot write in the output folder {}: {e}; {advice}", dir.display()))
}

/// The folder a resumed run writes into: `out` exactly when given, else the
/// folder its checkpoint is in (`.` for a bare file name). A resume never
/// names its folder from its flags: a run saved with `--steps 20000` and
/// resumed without it would be named like the default run, and overwrite it.
pub fn resumed_run_dir(checkpoint: &Path, out: Option<&Path>) -> PathBuf {
    match (out, checkpoint.parent()) {
        (Some(dir), _) => dir.to_path_buf(),
        (None, Some(parent)) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        (None, _) => PathBuf::from("."),
    }
}

/// The file in a run's folder that says which run writes there.
pub const RUN_MARKER: &str = ".minimax-run";

/// A run's identity in its folder's [`RUN_MARKER`]: what decides its
/// results (the example, the data set's name and fingerprint, the config as
/// JSON, hashed), one line a person can read.
pub fn run_identity(example: &str, data: &crate::checkpoint::DataId, config_json: &str) -> String {
    format!(
        "{example} data {} (fingerprint {:016x}), config {:016x}",
        data.name,
        data.fingerprint,
        crate::hash::fnv1a64(config_json.as_bytes())
    )
}

/// [`open_run_dir`], and the folder is this run's: a folder whose
/// [`RUN_MARKER`] names another run is refused, before any training, naming
/// both; one without a marker becomes this run's. So two different runs
/// never write into one folder, whatever their names or `--out` say, while
/// a run rerun or resumed writes into its own.
pub fn claim_run_dir(dir: &Path, identity: &str) -> Result<(), String> {
    open_run_dir(dir)?;
    let marker = dir.join(RUN_MARKER);
    match std::fs::read_to_string(&marker) {
        Ok(theirs) if theirs.trim_end() == identity => Ok(()),
        Ok(theirs) => Err(format!(
            "the output folder {} holds another run ({}), not this one ({identity}); choose \
             another folder with --out DIR",
            dir.display(),
            theirs.trim_end()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fsutil::write_atomic(&marker, format!("{identity}\n").as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", marker.display()))
        }
        Err(e) => Err(format!("cannot read {}: {e}", marker.display())),
    }
}

/// The presets' values of the flags that override them, one line each, for
/// the end of `--help`.
pub fn preset_help(presets: &[Preset]) -> String {
    let mut text = String::from("Preset values (a flag given overrides its preset's value):\n");
    for &p in presets {
        let c = Config::preset(p);
        text.push_str(&format!(
            "  {:<8} --steps {} --batch {} --loss {} --k {} --g-lr {} --d-lr {} --seed {}\n",
            p.name(),
            c.steps,
            c.batch,
            c.loss,
            c.d_steps,
            c.g_optimizer.lr(),
            c.d_optimizer.lr(),
            c.seed
        ));
    }
    text
}

/// Parses the process's arguments into `T`, with `after_help` at the end of
/// `--help` (such as [`preset_help`]). Exits as clap does: 0 after
/// `--help`, 2 after a one-line error.
pub fn parse_with_help<T: Parser>(after_help: String) -> T {
    let matches = T::command().after_help(after_help).get_matches();
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Parses with the presets' values shown in `--help`; see [`parse_with_help`].
pub fn parse_with_presets<T: Parser>(presets: &[Preset]) -> T {
    parse_with_help(preset_help(presets))
}

/// Reports a command line that parsed but does not make sense (a resume
/// that cannot go further, a GPU run without the GPU backend) as clap
/// reports its own errors: `error: <message>` on one line, exit code 2.
pub fn usage_error<T: CommandFactory>(message: impl std::fmt::Display) -> ! {
    T::command().error(ErrorKind::ValueValidation, message).exit()
}

/// What a run does beside training, for the examples: prints the progress
/// line (rewritten in place on a terminal), keeps every report, and saves a
/// checkpoint when asked to.
#[derive(Debug, Default)]
pub struct TerminalHooks {
    /// Print progress lines.
    pub verbose: bool,
    /// D is a Wasserstein critic: its outputs are scores, not probabilities,
    /// and the line says `critic(real)`, not `D(real)`.
    pub critic: bool,
    /// Where [`RunHooks::save`] writes (`None`: nowhere).
    pub checkpoint: Option<PathBuf>,
    /// Every progress report of the run, in order.
    pub history: Vec<Progress>,
    /// The whole run's planned steps, when it is trained in segments (to
    /// draw pictures between them): each report then counts, and its ETA
    /// runs, to the end of the run rather than of the segment.
    pub total_steps: Option<u64>,
    /// The data set an image run trains on, recorded in its checkpoints.
    pub image_data: Option<crate::checkpoint::DataId>,
    /// A line was rewritten in place and needs its line ending.
    open_line: bool,
}

impl TerminalHooks {
    /// Hooks for a run of `config`: printing if `verbose`, saving to
    /// `checkpoint` if given.
    pub fn new(config: &Config, verbose: bool, checkpoint: Option<PathBuf>) -> TerminalHooks {
        let critic = config.loss == GanLoss::Wasserstein;
        TerminalHooks { verbose, critic, checkpoint, ..TerminalHooks::default() }
    }

    /// Ends the progress line, if one is open.
    pub fn finish(&mut self) {
        if std::mem::take(&mut self.open_line) {
            println!();
        }
    }
}

impl TerminalHooks {
    /// Hooks for an image GAN run on the data set `data`: printing if
    /// `verbose`, saving to `checkpoint` if given, reports counted to
    /// `total_steps`.
    pub fn for_images(
        verbose: bool,
        checkpoint: Option<PathBuf>,
        total_steps: u64,
        data: crate::checkpoint::DataId,
    ) -> TerminalHooks {
        TerminalHooks {
            verbose,
            checkpoint,
            total_steps: Some(total_steps),
            image_data: Some(data),
            ..Self::default()
        }
    }

    /// Keeps and prints one progress report.
    fn report(&mut self, p: &Progress) {
        let mut p = p.clone();
        if let Some(total) = self.total_steps.filter(|&t| t > p.steps) {
            p.steps = total;
            p.eta_secs = if p.steps_per_sec > 0.0 {
                total.saturating_sub(p.step) as f64 / p.steps_per_sec
            } else {
                0.0
            };
        }
        self.history.push(p.clone());
        if !self.verbose {
            return;
        }
        let mut line = p.line();
        if self.critic {
            line = line.replace("D(real)", "critic(real)").replace("D(fake)", "critic(fake)");
        }
        if std::io::stdout().is_terminal() {
            // Rewrite the line in place; `\x1b[K` clears what is left of the last one.
            print!("\r{line}\x1b[K");
            let _ = std::io::stdout().flush();
            self.open_line = true;
        } else {
            println!("{line}");
        }
    }
}

impl<B: Backend> RunHooks<Trainer<B>> for TerminalHooks {
    fn progress(&mut self, p: &Progress) {
        self.report(p)
    }

    fn save(&mut self, trainer: &Trainer<B>) -> Result<Option<PathBuf>, TrainError> {
        let Some(path) = &self.checkpoint else { return Ok(None) };
        crate::checkpoint::save(trainer, path)?;
        Ok(Some(path.clone()))
    }
}

impl<B: Backend> RunHooks<ImageTrainer<B>> for TerminalHooks {
    fn progress(&mut self, p: &Progress) {
        self.report(p)
    }

    fn save(&mut self, trainer: &ImageTrainer<B>) -> Result<Option<PathBuf>, TrainError> {
        let Some(path) = &self.checkpoint else { return Ok(None) };
        let data = self.image_data.as_ref().ok_or_else(|| {
            TrainError::Checkpoint("an image checkpoint needs its data set: see for_images".into())
        })?;
        crate::checkpoint::save_image(trainer, data, path)?;
        Ok(Some(path.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learning_rate_decay_is_start_comma_to_and_checked() {
        assert_eq!(parse_lr_decay("0.5,0.02"), Ok(LrDecay { start: 0.5, to: 0.02 }));
        assert!(parse_lr_decay("0.5").unwrap_err().contains("START,TO"));
        assert!(parse_lr_decay("0.5,x").unwrap_err().contains("not a number"));
        assert!(parse_lr_decay("1.5,0.1").unwrap_err().contains("start in [0, 1)"));
    }

    #[derive(Debug, Parser)]
    struct Demo {
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        game: GameArgs,
    }

    fn parse(args: &[&str]) -> Result<Demo, clap::Error> {
        Demo::try_parse_from(std::iter::once("demo").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_and_overrides() {
        let d = parse(&[]).unwrap();
        assert_eq!(d.run.device, Device::Cpu);
        assert_eq!((d.run.seed, d.run.steps, d.run.log_every), (None, None, 100));
        assert_eq!(d.game, GameArgs::default());
        let d = parse(&["--lr", "0.01", "--d-lr", "0.003", "--loss", "least-squares"]).unwrap();
        let mut c = Config::preset(Preset::Default);
        d.game.apply(&mut c);
        assert_eq!((c.g_optimizer.lr(), c.d_optimizer.lr()), (0.01, 0.003));
        assert_eq!(c.loss, GanLoss::LeastSquares);
    }

    #[test]
    fn bad_values_name_the_flag_and_exit_2() {
        for (args, flag) in [
            (&["--lr", "-1"][..], "--lr <RATE>"),
            (&["--steps", "0"], "--steps <N>"),
            (&["--out", ""], "--out <DIR>"),
            (&["--loss", "foo"], "--loss <LOSS>"),
            (&["--device", "tpu"], "--device <DEVICE>"),
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
            let text = e.to_string();
            assert!(text.starts_with("error: invalid value"), "{text}");
            assert!(text.lines().next().unwrap().contains(flag), "{text}");
        }
    }

    #[test]
    fn help_shows_value_names_and_defaults() {
        let help = Demo::command().render_long_help().to_string();
        for needle in
            ["--steps <N>", "--lr <RATE>", "--out <DIR>", "[default: cpu]", "non-saturating"]
        {
            assert!(help.contains(needle), "{needle:?} missing from\n{help}");
        }
    }

    #[test]
    fn run_names_differ_when_runs_differ() {
        assert_eq!(run_name("default", &[], 0), "default-seed0");
        let given = GameArgs { loss: Some(Loss::Minimax), lr: Some(0.001), ..Default::default() };
        assert_eq!(run_name("default", &given.given(), 1), "default-minimax-lr0.001-seed1");
        assert_eq!(run_name("x", &[("out", "a/b c".into())], 0), "x-outa_b_c-seed0");
        assert_eq!(run_dir("ex", "n", None), Path::new("out/ex/n"));
        assert_eq!(run_dir("ex", "n", Some(Path::new("here"))), Path::new("here"));
    }

    /// README, "What we promise", folders: a resumed run writes where its
    /// checkpoint is (or into `--out`), not into a folder named from its
    /// flags: a `--steps 20000` run resumed without `--steps` overwrote the
    /// default run's folder.
    #[test]
    fn folders_a_resumed_run_writes_where_its_checkpoint_came_from() {
        let ckpt =
            Path::new("out/digits_gan/digits-digits-steps20000-seed0/checkpoint.safetensors");
        assert_eq!(
            resumed_run_dir(ckpt, None),
            Path::new("out/digits_gan/digits-digits-steps20000-seed0")
        );
        assert_eq!(resumed_run_dir(ckpt, Some(Path::new("elsewhere"))), Path::new("elsewhere"));
        assert_eq!(resumed_run_dir(Path::new("c.safetensors"), None), Path::new("."));
    }

    /// README, "What we promise", folders: a folder that holds another run
    /// is refused, naming both; its own run (rerun or resumed) may write
    /// there again.
    #[test]
    fn folders_a_folder_that_holds_another_run_is_refused() {
        let tmp = tempfile::Builder::new().prefix("minimax-cli-claim-").tempdir().unwrap();
        let base = tmp.path();
        let data = crate::checkpoint::DataId { name: "digits".into(), fingerprint: 7 };
        let (a, b) = (
            run_identity("ex", &data, "{\"steps\":1}"),
            run_identity("ex", &data, "{\"steps\":2}"),
        );
        assert_ne!(a, b);
        claim_run_dir(base, &a).unwrap();
        claim_run_dir(base, &a).unwrap();
        let err = claim_run_dir(base, &b).unwrap_err();
        assert!(err.contains(&a) && err.contains(&b) && err.contains("--out DIR"), "{err}");
        let other = crate::checkpoint::DataId { name: "digits".into(), fingerprint: 8 };
        assert!(claim_run_dir(base, &run_identity("ex", &other, "{\"steps\":1}")).is_err());
    }

    /// README, "What we promise", folders: run names are injective in the
    /// data folder: `--data sets/a/b` and `--data sets/a_b` were both named
    /// `digits-sets_a_b-…`, and the second run replaced the first.
    #[test]
    fn folders_two_data_folders_never_share_a_run_name() {
        use crate::datasets::DataSource;
        let name = |flag: &str| {
            run_name("classic", &[("data", DataSource::from_flag(flag).run_label())], 0)
        };
        assert_ne!(name("sets/a/b"), name("sets/a_b"));
        assert_ne!(name("sets/a/b"), name("other/a/b"));
        assert_eq!(name("sets/a/b"), name("sets/a/b"));
        assert_eq!(name("digits"), "classic-digits-seed0");
        assert!(name("sets/a/b").starts_with("classic-a_b-"), "{}", name("sets/a/b"));
    }

    /// Size flags are bounded when parsed (exit 2, naming the flag and its
    /// range): `--judge-samples 99999999999` aborted after training, asking
    /// for 800 GB.
    #[test]
    fn a_sample_count_out_of_range_is_refused_when_parsed() {
        #[derive(Debug, Parser)]
        struct Judge {
            #[arg(long, value_name = "N", value_parser = sample_count, allow_negative_numbers = true)]
            judge_samples: Option<usize>,
        }
        let parse = |v: &str| Judge::try_parse_from(["judge", "--judge-samples", v]);
        assert_eq!(parse("2").unwrap().judge_samples, Some(2));
        assert_eq!(parse(&MAX_SAMPLES.to_string()).unwrap().judge_samples, Some(MAX_SAMPLES));
        for bad in ["99999999999", "1", "0", "-3", "x"] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            let text = e.to_string();
            assert!(text.contains("--judge-samples <N>"), "{text}");
            assert!(text.contains(&format!("2..={MAX_SAMPLES}")), "{text}");
        }
    }

    /// Every size flag is bounded when parsed: exit 2, naming the flag and
    /// its range (`--steps 99999999999999` trained until memory ran out;
    /// `--batch` and `--k` took any `usize`).
    #[test]
    fn every_size_flag_is_bounded_when_parsed_naming_its_range() {
        #[derive(Debug, Parser)]
        struct Example {
            #[command(flatten)]
            run: RunArgs,
            #[command(flatten)]
            game: GameArgs,
            // As the examples declare theirs.
            #[arg(long, value_name = "N", default_value_t = 0, value_parser = steps_or_zero, allow_negative_numbers = true)]
            save_every: u64,
            #[arg(long, value_name = "N", default_value_t = 0, value_parser = steps_or_zero, allow_negative_numbers = true)]
            d_head_start: u64,
        }
        let parse = |args: &[&str]| {
            Example::try_parse_from(std::iter::once("example").chain(args.iter().copied()))
        };
        let max = MAX_STEPS.to_string();
        let d = parse(&["--steps", &max, "--log-every", &max, "--save-every", &max]).unwrap();
        assert_eq!(
            (d.run.steps, d.run.log_every, d.save_every),
            (Some(MAX_STEPS), MAX_STEPS, MAX_STEPS)
        );
        let d = parse(&["--batch", "65536", "--k", "100", "--d-head-start", "0"]).unwrap();
        assert_eq!((d.game.batch, d.game.k, d.d_head_start), (Some(MAX_BATCH), Some(MAX_K), 0));
        let over = (MAX_STEPS + 1).to_string();
        for (flag, range, bad) in [
            (
                "--steps",
                "1..=10000000",
                &["0", "-1", over.as_str(), "99999999999999999999", "x"][..],
            ),
            ("--log-every", "1..=10000000", &["0", over.as_str()]),
            ("--save-every", "0..=10000000", &["-1", over.as_str()]),
            ("--d-head-start", "0..=10000000", &["-5", over.as_str()]),
            ("--batch", "1..=65536", &["0", "65537", "18446744073709551615"]),
            ("--k", "1..=100", &["0", "101", "1000000"]),
        ] {
            for v in bad {
                let e = parse(&[flag, v]).unwrap_err();
                assert_eq!(e.exit_code(), 2, "{flag} {v}");
                let text = e.to_string();
                let first = text.lines().next().unwrap();
                assert!(first.contains(&format!("{flag} <")), "{flag} {v}: {text}");
                assert!(first.contains(&format!("expected a whole number in {range}")), "{text}");
            }
        }
    }

    #[test]
    fn an_unwritable_folder_is_refused_before_training() {
        let tmp = tempfile::Builder::new().prefix("minimax-cli-").tempdir().unwrap();
        let base = tmp.path();
        // A file where the folder should be.
        let blocked = base.join("file");
        std::fs::write(&blocked, b"x").unwrap();
        let err = open_run_dir(&blocked.join("run")).unwrap_err();
        assert!(err.contains("--out DIR"), "{err}");
        let ok = base.join("run");
        open_run_dir(&ok).unwrap();
        assert_eq!(std::fs::read_dir(&ok).unwrap().count(), 0, "the probe is removed");
    }
}
