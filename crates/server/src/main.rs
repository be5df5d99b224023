//! The `duet-server` command line.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use duet_server::config::{parse_duration, split_list};
use duet_server::{Config, Server, create_user, now_ms, open_data};

/// Duet's signaling server: accounts, presence, call invitations, rooms, history,
/// offline push and webhooks, in one process with an embedded SQLite database.
///
/// Settings come from (lowest to highest precedence) built-in defaults, the TOML file
/// given with --config, DUET_* environment variables, and command-line flags.
#[derive(Debug, Parser)]
#[command(name = "duet-server", version)]
struct Cli {
    /// Directory holding the SQLite database and the signing secret (created on first use).
    #[arg(long, global = true, env = "DUET_DATA", default_value = "duet-data")]
    data: PathBuf,
    /// Optional TOML configuration file (README.md lists every key).
    #[arg(long, global = true, env = "DUET_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server until Ctrl-C or SIGTERM.
    Serve(Box<ServeArgs>),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Issue access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on for HTTP and WebSocket.
    #[arg(long, env = "DUET_LISTEN")]
    listen: Option<SocketAddr>,
    /// UDP address of the network speed test (default: the HTTP address and port number).
    #[arg(long, env = "DUET_SPEEDTEST_LISTEN")]
    speedtest_listen: Option<SocketAddr>,
    /// Let anyone create an account with POST /v1/register.
    #[arg(long, env = "DUET_OPEN_REGISTRATION")]
    open_registration: Option<bool>,
    /// Comma-separated webhook URLs.
    #[arg(long, env = "DUET_WEBHOOK_URLS")]
    webhook_urls: Option<String>,
    /// HMAC key that signs webhook POSTs.
    #[arg(long, env = "DUET_WEBHOOK_KEY", hide_env_values = true)]
    webhook_key: Option<String>,
    /// Comma-separated push endpoint URLs (offline invitations are POSTed there).
    #[arg(long, env = "DUET_PUSH_URLS")]
    push_urls: Option<String>,
    /// HMAC key that signs push POSTs.
    #[arg(long, env = "DUET_PUSH_KEY", hide_env_values = true)]
    push_key: Option<String>,
    /// Comma-separated STUN URLs handed to callers.
    #[arg(long, env = "DUET_STUN_URLS")]
    stun_urls: Option<String>,
    /// Comma-separated TURN URLs handed to callers.
    #[arg(long, env = "DUET_TURN_URLS")]
    turn_urls: Option<String>,
    /// TURN REST API shared secret (coturn's static-auth-secret).
    #[arg(long, env = "DUET_TURN_SECRET", hide_env_values = true)]
    turn_secret: Option<String>,
    /// How long a room member whose connection dropped stays in the room, e.g. 30s.
    #[arg(long, env = "DUET_WATCHDOG")]
    watchdog: Option<String>,
    /// Run an echo user with this id next to the server (the `duet-echo` program,
    /// installed beside `duet-server`): it answers every call and sends the
    /// caller's own audio and video back (the test call). The account is created
    /// when missing.
    #[arg(long, env = "DUET_ECHO_USER")]
    echo_user: Option<String>,
    /// Serve HTTPS/WSS with this certificate chain (PEM; with --tls-key).
    #[arg(long, env = "DUET_TLS_CERT")]
    tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "DUET_TLS_KEY")]
    tls_key: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        /// User id: 1-64 characters of a-z, 0-9, `_`, `.` and `-`.
        id: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Name shown to other people.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List accounts.
    List,
    /// Delete an account.
    Remove { id: String },
    /// Set a new password, read from standard input.
    Passwd {
        id: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print an access token for a user (the token is the last word of the output).
    Issue {
        #[arg(long)]
        user: String,
        /// Lifetime, e.g. 1h, 7d.
        #[arg(long, default_value = "7d")]
        ttl: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("DUET_LOG").unwrap_or_else(|_| DEFAULT_LOG.into()))
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("duet-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> duet_server::Result<Config> {
    let mut config = Config::new(&cli.data);
    if let Some(path) = &cli.config {
        config.apply_file(path)?;
    }
    Ok(config)
}

fn read_password() -> duet_server::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// The server at `info`; the echo user's WebRTC stack only when something is wrong.
const DEFAULT_LOG: &str =
    "info,webrtc=warn,rtc=warn,rtc_ice=warn,rtc_dtls=warn,rtc_sctp=warn,rtc_srtp=warn,rtc_interceptor=warn";

fn run(cli: Cli) -> duet_server::Result<()> {
    let mut config = load_config(&cli)?;
    match cli.command {
        Command::Serve(args) => {
            apply_serve_args(&mut config, *args)?;
            let echo = echo_program(&mut config);
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let server = Server::bind(config).await?;
                println!("duet-server listening on http://{}", server.local_addr());
                if let Some((user, program)) = echo {
                    duet_server::echo::spawn(&server, &user, &program)?;
                    println!("echo user {user} is answering calls");
                }
                server.run(duet_server::shutdown::signal()).await
            })
        }
        Command::User(cmd) => {
            let (store, _) = open_data(&config)?;
            match cmd {
                UserCommand::Add { id, name, .. } => {
                    create_user(&*store, &id, &name, &read_password()?)?;
                    println!("created user {id}");
                }
                UserCommand::List => {
                    for user in store.users()? {
                        println!("{}\t{}", user.id, user.display_name);
                    }
                }
                UserCommand::Remove { id } => {
                    if !store.remove_user(&id)? {
                        return Err(duet_server::Error::NoSuchUser(id));
                    }
                    println!("removed user {id}");
                }
                UserCommand::Passwd { id, .. } => {
                    let password = read_password()?;
                    duet_server::check_password(&password)?;
                    if !store.set_password(&id, &duet_server::crypto::hash_password(&password)?)? {
                        return Err(duet_server::Error::NoSuchUser(id));
                    }
                    println!("password of {id} changed");
                }
            }
            Ok(())
        }
        Command::Token(TokenCommand::Issue { user, ttl }) => {
            let (store, signer) = open_data(&config)?;
            if store.user(&user)?.is_none() {
                return Err(duet_server::Error::NoSuchUser(user));
            }
            let ttl = parse_duration(&ttl)?;
            let expires_at = now_ms() + ttl.as_millis() as u64;
            println!("token for {user}, valid for {}: {}", humantime_secs(ttl), signer.issue_token(&user, expires_at));
            Ok(())
        }
    }
}

fn humantime_secs(d: std::time::Duration) -> String {
    humantime::format_duration(std::time::Duration::from_secs(d.as_secs())).to_string()
}

fn apply_serve_args(config: &mut Config, args: ServeArgs) -> duet_server::Result<()> {
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(listen) = args.speedtest_listen {
        config.speedtest_listen = Some(listen);
    }
    if let Some(open) = args.open_registration {
        config.open_registration = open;
    }
    if let Some(urls) = args.webhook_urls {
        config.webhooks.urls = split_list(&urls);
    }
    if let Some(key) = args.webhook_key {
        config.webhooks.key = key;
    }
    if let Some(urls) = args.push_urls {
        config.push.urls = split_list(&urls);
    }
    if let Some(key) = args.push_key {
        config.push.key = key;
    }
    if let Some(urls) = args.stun_urls {
        config.ice.stun_urls = split_list(&urls);
    }
    if let Some(urls) = args.turn_urls {
        config.ice.turn_urls = split_list(&urls);
    }
    if let Some(secret) = args.turn_secret {
        config.ice.turn_secret = secret;
    }
    if let Some(watchdog) = args.watchdog {
        config.watchdog = parse_duration(&watchdog)?;
    }
    if args.echo_user.is_some() {
        config.echo_user = args.echo_user;
    }
    if args.tls_cert.is_some() {
        config.tls_cert = args.tls_cert;
    }
    if args.tls_key.is_some() {
        config.tls_key = args.tls_key;
    }
    Ok(())
}

/// The echo user and its program, when one is asked for. Without the program
/// no echo user is advertised (clients would offer a test call nobody answers).
fn echo_program(config: &mut Config) -> Option<(String, std::path::PathBuf)> {
    let user = config.echo_user.clone()?;
    if config.tls_cert.is_some() {
        // The child would reach this server by its loopback address, which the certificate does not name.
        eprintln!(
            "duet-server: the echo user is not started beside a server that serves TLS itself; run \
             `duet-echo --server https://YOUR-NAME --user {user}` with a token, or put the TLS proxy in front"
        );
        config.echo_user = None;
        return None;
    }
    match duet_server::echo::find_program() {
        Some(program) => Some((user, program)),
        None => {
            eprintln!(
                "duet-server: {} is not installed next to duet-server or on the PATH; \
                 serving without the echo user {user}",
                duet_server::echo::PROGRAM
            );
            config.echo_user = None;
            None
        }
    }
}
