// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[allow(unsafe_code)]
fn main() -> std::process::ExitCode {
    // Started by the app itself only to name the GL renderer (`graphics::has_gpu`).
    if std::env::var_os(duet_app::graphics::PROBE_ENV).is_some() {
        return duet_app::graphics::print_gl_renderer();
    }
    // SAFETY: no thread has started yet.
    let without_gpu = unsafe { duet_app::graphics::choose_window_drawing() };
    // Warnings (no keyring, no notification service, a device that failed) go to stderr;
    // `DUET_LOG` chooses more, e.g. `DUET_LOG=debug`.
    let filter = tracing_subscriber::EnvFilter::try_from_env("DUET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,duet_app=info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    if !without_gpu.is_empty() {
        tracing::info!(target: "duet_app", "no GPU: windows are drawn without GL ({} set)", without_gpu.join(", "));
    }
    duet_app::run();
    std::process::ExitCode::SUCCESS
}
