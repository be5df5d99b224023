//! The Duet signaling client and call state machine. No UI and no Tauri: the
//! desktop shell, the headless CLI and tests all drive calls through this crate.
//!
//! - [`account`]: log in or register over HTTP for a token.
//! - [`SignalingClient`]: the connection to `duet-server` with requests, timeouts and
//!   automatic reconnection.
//! - [`CallMachine`]: the call state machine, free of I/O.
//! - [`CallManager`]: runs the machine over a connection and reports [`CallEvent`]s.

pub mod account;
pub mod call;
mod error;
mod manager;
pub mod signaling;
pub mod tls;

pub use call::{
    Action, CONNECT_WITHIN, CallInfo, CallMachine, CallState, Direction, EndReason, FailReason, IllegalTransition,
    Input, LeaveReason, NETWORK_LOST_AFTER, media_unreachable,
};
pub use error::{Error, Result};
pub use manager::{CallEvent, CallManager, ManagerConfig};
pub use signaling::{ClientConfig, ClientEvent, SignalingClient};

/// A fresh random room id for one call, so nobody from an earlier call can join it.
pub fn fresh_room_id() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().r#gen();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("call-{hex}")
}
