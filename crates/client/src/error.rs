use duet_protocol::ErrorCode;

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
    #[error(transparent)]
    Illegal(#[from] crate::call::IllegalTransition),
    #[error("unexpected reply from the server: {0}")]
    Unexpected(String),
}

/// Result of client operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
