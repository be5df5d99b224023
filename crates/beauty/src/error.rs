/// What can go wrong while setting up or running the beauty filter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("beauty level {0} is out of range: levels go from 0 (off) to 9")]
    LevelOutOfRange(u8),
    #[error("no GPU adapter was found; the beauty filter runs on the CPU")]
    NoAdapter,
    #[error("only a software GPU ({0}) is available, too slow for live video; the beauty filter runs on the CPU")]
    SoftwareAdapter(String),
    #[error("the GPU ({adapter}) refused to open a device: {reason}")]
    RequestDevice { adapter: String, reason: String },
    #[error("the GPU stopped working during the beauty filter: {0}")]
    Gpu(String),
}

pub type Result<T> = std::result::Result<T, Error>;
