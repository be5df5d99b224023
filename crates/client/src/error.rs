use duet_protocol::{ErrorCode, Outcome};

/// What can go wrong talking to the server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{0}")]
    Connect(String),
    /// The server's TLS certificate cannot be trusted (or the CA file cannot be
    /// used): final, retrying cannot help.
    #[error("{0}")]
    Certificate(String),
    #[error("the server did not answer in time")]
    Timeout,
    #[error("not connected to the server; reconnecting")]
    Disconnected,
    #[error("the connection was closed")]
    Closed,
    /// The server answered with an `error`.
    #[error("{message}")]
    Server { code: ErrorCode, message: String },
    /// The invitation was over when this side answered: `outcome` says how it
    /// ended for this user (`cancelled` when an accept crossed the caller's cancel).
    #[error("{message}")]
    InvitationClosed { outcome: Outcome, message: String },
    #[error(transparent)]
    Illegal(#[from] crate::call::IllegalTransition),
    #[error("unexpected reply from the server: {0}")]
    Unexpected(String),
}

impl Error {
    /// The error an `error` reply stands for.
    pub fn from_reply(e: duet_protocol::Error) -> Error {
        match e.outcome {
            Some(outcome) if e.code == ErrorCode::InvitationClosed => {
                Error::InvitationClosed { outcome, message: e.message }
            }
            _ => Error::Server { code: e.code, message: e.message },
        }
    }
}

/// Result of client operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
