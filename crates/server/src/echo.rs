//! The echo user (`serve --echo-user`): the account is made here and a fresh
//! token issued; the bot itself is the `duet-echo` program (the call engine,
//! which the server does not link), started as a child process and started
//! again when it stops. It exits when the server does: its standard input is
//! a pipe from the server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Server, create_user, now_ms};

/// A year: the echo's token is issued afresh at every start.
const TOKEN_TTL_MS: u64 = 365 * 24 * 3600 * 1000;

/// How long a stopped echo waits before it is started again.
const RESTART_AFTER: Duration = Duration::from_secs(2);

/// The program's file name.
pub const PROGRAM: &str = if cfg!(windows) { "duet-echo.exe" } else { "duet-echo" };

/// Where the echo user signs in.
#[derive(Debug, Clone)]
pub struct EchoLogin {
    pub server: String,
    pub user: String,
    pub token: String,
}

/// Creates the echo user on `server` if it is missing (with a random password
/// nobody needs) and issues it a token.
pub fn login(server: &Server, user: &str) -> crate::Result<EchoLogin> {
    let hub = server.hub();
    let password: String = {
        use rand::Rng;
        use rand::distributions::Alphanumeric;
        rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect()
    };
    match create_user(&*hub.store, user, "Echo test call", &password) {
        Ok(()) | Err(crate::Error::UserExists(_)) => {}
        Err(e) => return Err(e),
    }
    let token = hub.signer.issue_token(user, now_ms() + TOKEN_TTL_MS);
    let addr = server.local_addr();
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    Ok(EchoLogin { server: format!("http://{host}:{}", addr.port()), user: user.to_owned(), token })
}

/// The `duet-echo` program: next to this executable (as the packages install
/// it, and as cargo builds it), else on the `PATH`.
pub fn find_program() -> Option<PathBuf> {
    let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join(PROGRAM)));
    if let Some(path) = beside.filter(|p| p.is_file()) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(PROGRAM)).find(|p| p.is_file())
}

/// Starts `program` as the echo user of `server` and keeps it running (it is
/// started again `RESTART_AFTER` after it stops) until the server's runtime ends.
pub fn spawn(server: &Server, user: &str, program: &Path) -> crate::Result<()> {
    let login = login(server, user)?;
    let program = program.to_owned();
    let mut child = start(&program, &login)?;
    tokio::spawn(async move {
        loop {
            // `wait` would close the child's input, which tells it to stop: it is held here instead.
            let _input = child.stdin.take();
            match child.wait().await {
                Ok(status) => tracing::warn!(%status, "the echo user stopped; starting it again"),
                Err(e) => tracing::warn!("the echo user cannot be waited for: {e}"),
            }
            tokio::time::sleep(RESTART_AFTER).await;
            match start(&program, &login) {
                Ok(next) => child = next,
                Err(e) => return tracing::error!("the echo user cannot start again: {e}"),
            }
        }
    });
    Ok(())
}

fn start(program: &Path, login: &EchoLogin) -> crate::Result<tokio::process::Child> {
    let child = tokio::process::Command::new(program)
        .args(["--server", &login.server, "--user", &login.user, "--until-stdin-closes"])
        // In the environment, not the arguments: other users can read a process's arguments.
        .env("DUET_TOKEN", &login.token)
        .stdin(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| crate::Error::Io(std::io::Error::new(e.kind(), format!("{}: {e}", program.display()))))?;
    Ok(child)
}
