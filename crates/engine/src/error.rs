//! Why the engine could not start or answer. Each variant keeps its cause as a `#[source]`, so
//! the binary's `{:#}` prints the whole chain (engine -> journal -> SQLite) and a test can match
//! on the kind of failure instead of on text.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::journal::JournalError;
use crate::market::feed::FeedError;

/// Why the engine could not start or answer a command.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration is invalid.
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// The journal could not be opened, read or written (boxed: it is large and rare).
    #[error(transparent)]
    Journal(Box<JournalError>),
    /// The journal opened but restoring positions and statistics from it failed.
    #[error("cannot restore from the journal {}", path.display())]
    Restore {
        /// The journal file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: Box<JournalError>,
    },
    /// A market data source could not be built.
    #[error("feed: {0}")]
    Feed(#[from] FeedError),
    /// The engine thread could not be spawned.
    #[error("cannot start the engine thread")]
    Spawn(#[source] std::io::Error),
    /// The engine thread is not running (shut down or died).
    #[error("engine is not running")]
    Stopped,
    /// Trading is halted after a journal failure; the message says which.
    #[error("{0}")]
    Halted(String),
    /// No strategy with this name.
    #[error("unknown strategy {0:?}")]
    UnknownStrategy(String),
    /// This strategy cannot be started or stopped (`manual`).
    #[error("strategy {0:?} cannot be started or stopped")]
    NotControllable(String),
}

impl From<JournalError> for EngineError {
    fn from(e: JournalError) -> Self {
        EngineError::Journal(Box::new(e))
    }
}

impl From<EngineError> for crate::domain::orders::OrderError {
    fn from(e: EngineError) -> Self {
        crate::domain::orders::OrderError::Unavailable(e.to_string())
    }
}
