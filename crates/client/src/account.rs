//! Accounts over HTTP: logging in and registering return the token that the
//! signaling connection then authenticates with.

use std::path::Path;
use std::time::Duration;

use duet_protocol::{ErrorCode, HttpError, LoginRequest, RegisterRequest, TokenResponse, with_causes};
use serde::Serialize;

use crate::{Error, Result};

/// How long a login may take before it is given up.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to sign in, and what to trust there.
#[derive(Debug, Clone, Copy)]
pub struct Server<'a> {
    /// A base URL such as `http://127.0.0.1:8443`.
    pub url: &'a str,
    /// CA certificates (PEM) trusted besides the system's, for `https://`.
    pub ca_file: Option<&'a Path>,
}

impl<'a> From<&'a str> for Server<'a> {
    fn from(url: &'a str) -> Server<'a> {
        Server { url, ca_file: None }
    }
}

impl<'a> From<&'a String> for Server<'a> {
    fn from(url: &'a String) -> Server<'a> {
        Server { url, ca_file: None }
    }
}

/// Logs `user_id` in on `server`.
pub async fn login(server: impl Into<Server<'_>>, user_id: &str, password: &str) -> Result<TokenResponse> {
    let body = LoginRequest { user_id: user_id.to_owned(), password: password.to_owned() };
    post(server.into(), "/v1/login", &body).await
}

/// Creates an account on a server with open registration and logs it in.
pub async fn register(
    server: impl Into<Server<'_>>,
    user_id: &str,
    password: &str,
    display_name: &str,
) -> Result<TokenResponse> {
    let body = RegisterRequest {
        user_id: user_id.to_owned(),
        password: password.to_owned(),
        display_name: display_name.to_owned(),
    };
    post(server.into(), "/v1/register", &body).await
}

async fn post(Server { url: server, ca_file }: Server<'_>, path: &str, body: &impl Serialize) -> Result<TokenResponse> {
    let base = server.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Error::Connect(format!(
            "\"{server}\" is not a server address: it starts with http:// or https://"
        )));
    }
    let tls = crate::tls::client_config(ca_file)?;
    let client = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .use_preconfigured_tls((*tls).clone())
        .build()
        .map_err(|e| Error::Connect(format!("cannot start an HTTP client: {e}")))?;
    let response = client.post(format!("{base}{path}")).json(body).send().await.map_err(|e| {
        if let Some(problem) = crate::tls::certificate_problem(&e) {
            Error::Certificate(format!("cannot connect securely to {base}: {problem}"))
        } else if e.is_timeout() {
            Error::Timeout
        } else {
            Error::Connect(format!("cannot reach the server at {base}: {}", with_causes(&e)))
        }
    })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::Connect(format!("the server's answer broke off: {}", with_causes(&e))))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| Error::Unexpected(format!("malformed token reply: {e}")));
    }
    Err(match serde_json::from_slice::<HttpError>(&bytes) {
        Ok(HttpError { code: ErrorCode::Unauthorized, .. }) => {
            Error::Server { code: ErrorCode::Unauthorized, message: "wrong user name or password".to_owned() }
        }
        Ok(HttpError { code, message }) => Error::Server { code, message },
        Err(_) if status == reqwest::StatusCode::NOT_FOUND => {
            Error::Connect(format!("{base} is not a Duet server (it has no {path})"))
        }
        Err(_) => Error::Unexpected(format!("the server answered {status}")),
    })
}
