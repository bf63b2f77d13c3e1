//! [`TrainError`]: why a run stopped early, as a value with a message.

use std::path::PathBuf;

/// Why training stopped early.
#[derive(Debug)]
pub enum TrainError {
    /// The configuration is invalid.
    Config(String),
    /// An engine operation failed (a shape mismatch, a device error).
    Engine(minimax_autodiff::Error),
    /// A loss or a parameter became NaN or infinite.
    NonFinite {
        /// The step after which it was seen.
        step: u64,
        /// What was not finite, such as `"D loss = NaN"`.
        what: String,
        /// The last checkpoint written, and its step (it holds finite values).
        last_checkpoint: Option<(PathBuf, u64)>,
    },
    /// A checkpoint could not be read or written, or is not one of ours.
    Checkpoint(String),
    /// Another file (a report, a figure) could not be written.
    Io(String),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Config(why) => write!(f, "invalid configuration: {why}"),
            TrainError::Engine(e) => write!(f, "{e}"),
            TrainError::NonFinite { step, what, last_checkpoint } => {
                write!(f, "training diverged at step {step}: {what}; ")?;
                match last_checkpoint {
                    Some((path, at)) => {
                        write!(f, "the last good checkpoint is {} (step {at})", path.display())
                    }
                    None => write!(f, "no checkpoint had been saved before it"),
                }
            }
            TrainError::Checkpoint(why) | TrainError::Io(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<minimax_autodiff::Error> for TrainError {
    fn from(e: minimax_autodiff::Error) -> Self {
        TrainError::Engine(e)
    }
}
