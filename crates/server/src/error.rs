use duet_protocol::ErrorCode;

/// Everything that can go wrong in the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("user `{0}` already exists")]
    UserExists(String),
    #[error("no user `{0}`")]
    NoSuchUser(String),
    #[error("invalid user id `{0}`: use 1-64 characters of a-z, 0-9, `_`, `.` and `-`")]
    InvalidUserId(String),
    #[error("password too short: use at least 8 characters")]
    WeakPassword,
    #[error("password hashing failed: {0}")]
    Password(String),
}

impl Error {
    /// The protocol error code a client sees for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::UserExists(_) | Error::InvalidUserId(_) | Error::WeakPassword => ErrorCode::BadRequest,
            Error::NoSuchUser(_) => ErrorCode::NotFound,
            _ => ErrorCode::Internal,
        }
    }
}

/// Result of server operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
