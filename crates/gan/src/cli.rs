//! A tiny command-line flag parser for the examples.
//!
//! Declare the flags once, with a kind, a default and a help line; the same
//! declaration drives parsing, `--help` and the error messages:
//!
//! ```
//! use minimax_gan::cli::Cli;
//!
//! let cli = Cli::new("gaussian_gan", "Train a GAN on a 1-D Gaussian.")
//!     .int("steps", 2000, "training steps")
//!     .float("lr", 2e-4, "learning rate")
//!     .choice("loss", &["minimax", "non-saturating"], "non-saturating", "generator loss")
//!     .switch("gpu", "run on the GPU backend");
//! let args = cli.parse(["--steps=500", "--gpu", "--lr", "0.001"]).unwrap();
//! assert_eq!(args.int("steps"), 500);
//! assert_eq!(args.float("lr"), 0.001);
//! assert_eq!(args.string("loss"), "non-saturating");
//! assert!(args.switch("gpu"));
//!
//! let err = cli.parse(["--loss", "foo"]).unwrap_err();
//! assert_eq!(err.to_string(), r#"--loss: expected one of minimax, non-saturating; got "foo""#);
//! ```
//!
//! Accepted syntax: `--name value` and `--name=value`; a switch is `--name`
//! (or `--name=true` / `--name=false`); `--help` or `-h` asks for the usage.
//! A flag given twice keeps its last value. An example calls
//! [`Cli::parse_env_or_exit`], which prints the usage and exits with code 0
//! for `--help`, or prints the one-line error and the usage to stderr and
//! exits with code 2.

use std::collections::BTreeMap;
use std::fmt;

/// What a flag accepts.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Int,
    Float,
    Str,
    Choice(Vec<String>),
    Switch,
}

impl Kind {
    /// Shown after the flag name in the usage: `--steps <int>`.
    fn placeholder(&self) -> &'static str {
        match self {
            Kind::Int => " <int>",
            Kind::Float => " <number>",
            Kind::Str => " <text>",
            Kind::Choice(_) => " <choice>",
            Kind::Switch => "",
        }
    }
}

/// A parsed (or default) value.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(x) => write!(f, "{x}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One declared flag.
#[derive(Clone, Debug)]
struct Flag {
    name: String,
    kind: Kind,
    default: Value,
    help: String,
}

/// Why the command line was not accepted. [`CliError::Help`] is not a
/// mistake but travels the same way, so `parse` has one return path.
#[derive(Clone, Debug, PartialEq)]
pub enum CliError {
    /// `--help` or `-h` was given.
    Help,
    /// A flag that was not declared.
    Unknown(String),
    /// A word that is not a flag.
    Positional(String),
    /// A flag that needs a value came last, or before another flag.
    MissingValue {
        /// The flag's name, without dashes.
        flag: String,
        /// What it accepts, such as `"an integer"`.
        expected: String,
    },
    /// A value the flag does not accept.
    BadValue {
        /// The flag's name, without dashes.
        flag: String,
        /// What it accepts.
        expected: String,
        /// What was given.
        got: String,
    },
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Help => write!(f, "help requested"),
            CliError::Unknown(flag) => write!(f, "unknown flag --{flag} (see --help)"),
            CliError::Positional(arg) => {
                write!(f, "unexpected argument \"{arg}\" (flags start with --)")
            }
            CliError::MissingValue { flag, expected } => {
                write!(f, "--{flag}: expected {expected}; got nothing")
            }
            CliError::BadValue { flag, expected, got } => {
                write!(f, "--{flag}: expected {expected}; got \"{got}\"")
            }
        }
    }
}

impl std::error::Error for CliError {}

/// A set of declared flags: build it with the methods below, then parse.
///
/// The declaring methods panic on a programming mistake (a name declared
/// twice, a default that is not one of the choices), at startup.
#[derive(Clone, Debug)]
pub struct Cli {
    program: String,
    about: String,
    flags: Vec<Flag>,
}

impl Cli {
    /// A parser for `program`, described by `about` in the usage.
    pub fn new(program: &str, about: &str) -> Self {
        Cli { program: program.to_string(), about: about.to_string(), flags: Vec::new() }
    }

    fn declare(mut self, name: &str, kind: Kind, default: Value, help: &str) -> Self {
        assert!(self.flag(name).is_none(), "flag --{name} declared twice");
        assert!(name != "help", "--help is built in");
        let (name, help) = (name.to_string(), help.to_string());
        self.flags.push(Flag { name, kind, default, help });
        self
    }

    /// An integer flag, `--name 10`.
    pub fn int(self, name: &str, default: i64, help: &str) -> Self {
        self.declare(name, Kind::Int, Value::Int(default), help)
    }

    /// A finite floating-point flag, `--name 0.5` or `--name 2e-4`.
    pub fn float(self, name: &str, default: f64, help: &str) -> Self {
        self.declare(name, Kind::Float, Value::Float(default), help)
    }

    /// A free-text flag, `--name out/run1`.
    pub fn string(self, name: &str, default: &str, help: &str) -> Self {
        self.declare(name, Kind::Str, Value::Str(default.to_string()), help)
    }

    /// A flag that takes one of `choices`.
    pub fn choice(self, name: &str, choices: &[&str], default: &str, help: &str) -> Self {
        assert!(choices.contains(&default), "--{name}: default {default:?} is not a choice");
        let kind = Kind::Choice(choices.iter().map(|c| c.to_string()).collect());
        self.declare(name, kind, Value::Str(default.to_string()), help)
    }

    /// An on/off switch, off unless given.
    pub fn switch(self, name: &str, help: &str) -> Self {
        self.declare(name, Kind::Switch, Value::Bool(false), help)
    }

    fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// The help text: what the program does and every flag with its default.
    pub fn usage(&self) -> String {
        let mut lines = vec![
            self.about.clone(),
            String::new(),
            format!("Usage: {} [flags]", self.program),
            String::new(),
            "Flags:".to_string(),
        ];
        let left = |f: &Flag| format!("--{}{}", f.name, f.kind.placeholder());
        let width = self.flags.iter().map(|f| left(f).len()).max().unwrap_or(0).max(10);
        for f in &self.flags {
            let detail = match &f.kind {
                Kind::Switch => String::new(),
                Kind::Choice(choices) => {
                    format!(" (one of {}; default {})", choices.join(", "), f.default)
                }
                _ => format!(" (default {})", f.default),
            };
            lines.push(format!("  {:width$}  {}{detail}", left(f), f.help));
        }
        lines.push(format!("  {:width$}  print this help", "--help"));
        lines.join("\n") + "\n"
    }

    /// Parses `args` (without the program name).
    pub fn parse<I, S>(&self, args: I) -> Result<Args, CliError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut values: BTreeMap<String, Value> =
            self.flags.iter().map(|f| (f.name.clone(), f.default.clone())).collect();
        let mut args = args.into_iter().map(Into::into).peekable();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                return Err(CliError::Help);
            }
            let Some(body) = arg.strip_prefix("--") else {
                return Err(CliError::Positional(arg));
            };
            // `--name=value` carries its value; `--name value` takes the next word.
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (body, None),
            };
            let flag = self.flag(name).ok_or_else(|| CliError::Unknown(name.to_string()))?;
            let text = match (inline, &flag.kind) {
                (Some(text), _) => text,
                (None, Kind::Switch) => "true".to_string(),
                (None, _) => match args.next_if(|next| !next.starts_with("--")) {
                    Some(text) => text,
                    None => {
                        let expected = expected(&flag.kind);
                        return Err(CliError::MissingValue { flag: flag.name.clone(), expected });
                    }
                },
            };
            values.insert(flag.name.clone(), parse_value(flag, &text)?);
        }
        Ok(Args { values })
    }

    /// Parses the process's arguments. On `--help` prints the usage and exits
    /// with 0; on an error prints `error: <message>` and the usage to stderr
    /// and exits with 2.
    pub fn parse_env_or_exit(&self) -> Args {
        match self.parse(std::env::args().skip(1)) {
            Ok(args) => args,
            Err(CliError::Help) => {
                print!("{}", self.usage());
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("error: {e}\n\n{}", self.usage());
                std::process::exit(2);
            }
        }
    }
}

/// What a kind accepts, in words, for error messages.
fn expected(kind: &Kind) -> String {
    match kind {
        Kind::Int => "an integer".to_string(),
        Kind::Float => "a finite number".to_string(),
        Kind::Str => "a value".to_string(),
        Kind::Choice(choices) => format!("one of {}", choices.join(", ")),
        Kind::Switch => "true or false".to_string(),
    }
}

fn parse_value(flag: &Flag, text: &str) -> Result<Value, CliError> {
    let value = match &flag.kind {
        Kind::Int => text.parse().ok().map(Value::Int),
        Kind::Float => text.parse::<f64>().ok().filter(|x| x.is_finite()).map(Value::Float),
        Kind::Str => Some(Value::Str(text.to_string())),
        Kind::Choice(choices) => {
            choices.iter().any(|c| c == text).then(|| Value::Str(text.to_string()))
        }
        Kind::Switch => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
    };
    value.ok_or_else(|| CliError::BadValue {
        flag: flag.name.clone(),
        expected: expected(&flag.kind),
        got: text.to_string(),
    })
}

/// The parsed values, every declared flag present (given or default).
///
/// The getters panic if `name` was not declared with that kind: that is a
/// typo in the program, not a user error.
#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    values: BTreeMap<String, Value>,
}

impl Args {
    fn get(&self, name: &str) -> &Value {
        self.values.get(name).unwrap_or_else(|| panic!("flag --{name} was not declared"))
    }

    /// The value of an [`Cli::int`] flag.
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Value::Int(x) => *x,
            other => panic!("flag --{name} is not an int flag (holds {other:?})"),
        }
    }

    /// The value of a [`Cli::float`] flag.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Value::Float(x) => *x,
            other => panic!("flag --{name} is not a float flag (holds {other:?})"),
        }
    }

    /// The value of a [`Cli::string`] or [`Cli::choice`] flag.
    pub fn string(&self, name: &str) -> &str {
        match self.get(name) {
            Value::Str(s) => s,
            other => panic!("flag --{name} is not a string flag (holds {other:?})"),
        }
    }

    /// A [`Cli::string`] flag that overrides a preset: `None` when its
    /// value is `keep` (such as `"preset"`), else the value parsed as `T`.
    /// A value that does not parse, or fails `ok`, is an error naming the
    /// flag and `expected`.
    pub fn override_of<T: std::str::FromStr>(
        &self,
        name: &str,
        keep: &str,
        expected: &str,
        ok: impl Fn(&T) -> bool,
    ) -> Result<Option<T>, CliError> {
        let text = self.string(name);
        if text == keep {
            return Ok(None);
        }
        match text.parse::<T>() {
            Ok(v) if ok(&v) => Ok(Some(v)),
            _ => Err(CliError::BadValue {
                flag: name.into(),
                expected: expected.into(),
                got: text.into(),
            }),
        }
    }

    /// Whether a [`Cli::switch`] was given.
    pub fn switch(&self, name: &str) -> bool {
        match self.get(name) {
            Value::Bool(b) => *b,
            other => panic!("flag --{name} is not a switch (holds {other:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> Cli {
        Cli::new("demo", "A demo.")
            .int("steps", 100, "training steps")
            .float("lr", 0.01, "learning rate")
            .string("out", "out/demo", "output directory")
            .choice(
                "loss",
                &["minimax", "non-saturating", "least-squares", "wasserstein"],
                "minimax",
                "generator loss",
            )
            .switch("gpu", "use the GPU")
    }

    fn err(args: &[&str]) -> String {
        cli().parse(args.iter().copied()).unwrap_err().to_string()
    }

    #[test]
    fn defaults_when_nothing_is_given() {
        let args = cli().parse(Vec::<String>::new()).unwrap();
        assert_eq!(args.int("steps"), 100);
        assert_eq!(args.float("lr"), 0.01);
        assert_eq!(args.string("out"), "out/demo");
        assert_eq!(args.string("loss"), "minimax");
        assert!(!args.switch("gpu"));
    }

    #[test]
    fn both_syntaxes_negative_numbers_and_last_wins() {
        let args = cli()
            .parse(["--steps", "5", "--lr=-2.5e-3", "--out=a=b", "--loss", "wasserstein", "--gpu"])
            .unwrap();
        assert_eq!(args.int("steps"), 5);
        assert_eq!(args.float("lr"), -2.5e-3);
        assert_eq!(args.string("out"), "a=b"); // only the first '=' splits
        assert_eq!(args.string("loss"), "wasserstein");
        assert!(args.switch("gpu"));
        let args = cli().parse(["--steps=1", "--steps=2", "--gpu", "--gpu=false"]).unwrap();
        assert_eq!(args.int("steps"), 2);
        assert_eq!(cli().parse(["--lr", "-1"]).unwrap().float("lr"), -1.0);
        assert!(!args.switch("gpu"));
    }

    #[test]
    fn overrides_keep_the_preset_or_parse_and_check() {
        let parse = |args: &[&str]| cli().parse(args.iter().copied()).unwrap();
        let positive = |x: &i64| *x > 0;
        let out = parse(&[]);
        assert_eq!(out.override_of("out", "out/demo", "a positive integer", positive), Ok(None));
        let out = parse(&["--out", "7"]);
        assert_eq!(out.override_of("out", "out/demo", "a positive integer", positive), Ok(Some(7)));
        let err = parse(&["--out", "-7"])
            .override_of("out", "out/demo", "a positive integer", positive)
            .unwrap_err();
        assert_eq!(err.to_string(), r#"--out: expected a positive integer; got "-7""#);
    }

    #[test]
    fn help_is_reported_as_such() {
        assert_eq!(cli().parse(["--steps", "3", "--help"]), Err(CliError::Help));
        assert_eq!(cli().parse(["-h"]), Err(CliError::Help));
    }

    #[test]
    fn each_error_names_the_flag_and_what_it_accepts() {
        assert_eq!(
            err(&["--loss", "foo"]),
            r#"--loss: expected one of minimax, non-saturating, least-squares, wasserstein; got "foo""#
        );
        assert_eq!(err(&["--steps", "1.5"]), r#"--steps: expected an integer; got "1.5""#);
        assert_eq!(err(&["--lr=fast"]), r#"--lr: expected a finite number; got "fast""#);
        assert_eq!(err(&["--lr", "inf"]), r#"--lr: expected a finite number; got "inf""#);
        assert_eq!(err(&["--gpu=yes"]), r#"--gpu: expected true or false; got "yes""#);
        assert_eq!(err(&["--steps"]), "--steps: expected an integer; got nothing");
        assert_eq!(err(&["--out", "--gpu"]), "--out: expected a value; got nothing");
        assert_eq!(err(&["--stpes", "3"]), "unknown flag --stpes (see --help)");
        assert_eq!(err(&["3"]), r#"unexpected argument "3" (flags start with --)"#);
        assert_eq!(err(&["-steps", "3"]), r#"unexpected argument "-steps" (flags start with --)"#);
    }

    #[test]
    fn usage_lists_every_flag_with_its_default() {
        let usage = cli().usage();
        assert!(usage.starts_with("A demo.\n\nUsage: demo [flags]\n"));
        for line in [
            "--steps <int>    training steps (default 100)",
            "--lr <number>    learning rate (default 0.01)",
            "--out <text>     output directory (default out/demo)",
            "--loss <choice>  generator loss (one of minimax, non-saturating, least-squares, wasserstein; default minimax)",
            "--gpu            use the GPU\n",
            "--help           print this help\n",
        ] {
            assert!(usage.contains(line), "missing {line:?} in\n{usage}");
        }
    }

    #[test]
    #[should_panic(expected = "declared twice")]
    fn declaring_a_flag_twice_is_a_bug() {
        let _ = cli().int("steps", 1, "again");
    }

    #[test]
    #[should_panic(expected = "not declared")]
    fn reading_an_undeclared_flag_is_a_bug() {
        cli().parse(Vec::<String>::new()).unwrap().int("step");
    }
}
