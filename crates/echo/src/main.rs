//! `duet-echo`: the echo user as a process of its own.
//!
//! ```sh
//! DUET_TOKEN=$(duet-server token issue --user echo --ttl 8760h | awk '{print $NF}') \
//!   duet-echo --server http://127.0.0.1:8443 --user echo --lines 8
//! ```
//! `duet-server serve --echo-user echo` starts it itself (with a fresh token).

use clap::Parser;
use duet_echo::EchoLogin;

#[derive(Parser)]
#[command(
    name = "duet-echo",
    version,
    about = "Duet's echo user: answers every call with the caller's own audio and video"
)]
struct Args {
    /// duet-server address, e.g. http://127.0.0.1:8443
    #[arg(long, env = "DUET_SERVER")]
    server: String,
    /// The echo user's id.
    #[arg(long, default_value = "echo")]
    user: String,
    /// Its access token (`duet-server token issue --user echo`).
    #[arg(long, env = "DUET_TOKEN", hide_env_values = true)]
    token: String,
    /// How many callers it serves at once (each line signs in as a device of its own).
    #[arg(long, default_value_t = duet_echo::DEFAULT_LINES)]
    lines: usize,
    /// CA certificates (PEM) to trust for an https:// server, besides the system's trust store.
    #[arg(long, env = "DUET_CA_FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// Exit when standard input closes (duet-server starts it so: it stops with the server).
    #[arg(long)]
    until_stdin_closes: bool,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.until_stdin_closes {
        tokio::spawn(async {
            let mut sink = tokio::io::sink();
            let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut sink).await;
            std::process::exit(0);
        });
    }
    let login =
        EchoLogin { server: args.server, user: args.user, token: args.token, lines: args.lines, ca_file: args.ca_file };
    if let Err(error) = duet_echo::run(login).await {
        eprintln!("duet-echo: {error}");
        std::process::exit(1);
    }
}
