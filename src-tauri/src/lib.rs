//! The Duet desktop shell. It only wires the crates to the web UI; the logic lives in `crates/*`.

/// Starts the desktop app and blocks until it exits.
pub fn run() {
    tauri::Builder::default().run(tauri::generate_context!()).expect("error while running the Duet desktop app");
}
