//! The commands the UI calls: thin, each over the crates and `AppState`.

pub mod account;
pub mod call;
pub mod checks;
pub mod contacts;
pub mod settings;
