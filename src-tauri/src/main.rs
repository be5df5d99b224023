// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Warnings (no keyring, no notification service, a device that failed) go to stderr;
    // `DUET_LOG` chooses more, e.g. `DUET_LOG=debug`.
    let filter = tracing_subscriber::EnvFilter::try_from_env("DUET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,duet_app=info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    duet_app::run();
}
